namespace Nv.Host.Http;

/// <summary>The stable <c>type</c> URIs of Nv's Problem+json (RFC 9457) responses. Never change one: clients match on them.</summary>
internal static class ProblemTypes
{
    private const string Base = "https://nv.dev/problems/";

    public const string Validation = Base + "validation";
    public const string UnsupportedMediaType = Base + "unsupported-media-type";
    public const string TooLarge = Base + "payload-too-large";
    public const string Unauthenticated = Base + "unauthenticated";
    public const string Forbidden = Base + "forbidden";
    public const string NotFound = Base + "not-found";
    public const string MethodNotAllowed = Base + "method-not-allowed";
    public const string DidNotExist = Base + "did-not-exist";
    public const string AlreadyExists = Base + "already-exists";
    public const string ConcurrentModification = Base + "concurrent-modification";
    public const string PreconditionFailed = Base + "precondition-failed";
    public const string IdempotencyKeyReused = Base + "idempotency-key-reused";
    public const string RequestInProgress = Base + "request-in-progress";

    /// <summary>409: the data subject this request would be sealed under is not known until an earlier write of the entity
    /// is applied; retry shortly.</summary>
    public const string SubjectPending = Base + "subject-pending";
    public const string DbUnavailable = Base + "db-unavailable";
    public const string NotReady = Base + "not-ready";
    public const string WalFaulted = Base + "wal-faulted";
    public const string Internal = Base + "internal";
    public const string BatchesNotSupported = Base + "batches-not-supported";
    public const string ChangesGone = Base + "changes-gone";

    /// <summary>503: every change-feed stream allowed (Nv:Http:MaxChangeFeedStreams) is open; retry after Retry-After.</summary>
    public const string ChangesBusy = Base + "changes-busy";

    /// <summary>503: every audit query (Nv:Http:MaxConcurrentAuditQueries) or chain verification
    /// (Nv:Http:MaxConcurrentAuditVerifications) allowed at once is running; retry after Retry-After.</summary>
    public const string AuditBusy = Base + "audit-busy";

    /// <summary>503: the audit store could not answer an audit read (unreachable, locked or failing); retry after
    /// Retry-After. Writes are not affected.</summary>
    public const string AuditUnavailable = Base + "audit-unavailable";

    /// <summary>429: the caller's API key holds every change-feed stream one key may (Nv:Http:MaxChangeFeedStreamsPerKey).</summary>
    public const string TooManyStreams = Base + "too-many-streams";

    /// <summary>421: authentication is off and the request did not come over loopback for a loopback Host (DNS rebinding).</summary>
    public const string HostNotAllowed = Base + "host-not-allowed";
    public const string Unstorable = Base + "unstorable";
    public const string ProofsUnavailable = Base + "proofs-unavailable";
    public const string Erased = Base + "erased";
}
