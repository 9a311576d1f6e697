using MongoDB.Driver;

namespace Nv.DbWriter.Mongo;

/// <summary>Classifies MongoDB failures: transient (the record stays in the WAL and is retried) or not (stop, call an
/// operator), and duplicate keys (E11000).</summary>
internal static class MongoErrors
{
    public const int DuplicateKey = 11000;

    // Server error codes that mean "not now" rather than "never": network, elections, shutdown, time limits,
    // replication waits. https://www.mongodb.com/docs/manual/reference/error-codes/
    private static readonly HashSet<int> TransientCodes =
    [
        6,     // HostUnreachable
        7,     // HostNotFound
        24,    // LockTimeout
        43,    // CursorNotFound (a cursor timed out or was killed by a failover: read again)
        46,    // LockBusy
        50,    // MaxTimeMSExpired
        63,    // StaleShardVersion
        64,    // WriteConcernTimeout (wtimeout; formerly WriteConcernFailed)
        89,    // NetworkTimeout
        91,    // ShutdownInProgress
        112,   // WriteConflict
        133,   // FailedToSatisfyReadPreference (no primary right now)
        134,   // ReadConcernMajorityNotAvailableYet
        150,   // StaleEpoch
        189,   // PrimarySteppedDown
        202,   // NetworkInterfaceExceededTimeLimit (mongos to shard)
        216,   // ElectionInProgress
        237,   // CursorKilled
        262,   // ExceededTimeLimit
        9001,  // SocketException
        13388, // StaleConfig
        10107, // NotWritablePrimary
        11600, // InterruptedAtShutdown
        11602, // InterruptedDueToReplStateChange
        13435, // NotPrimaryNoSecondaryOk
        13436, // NotPrimaryOrSecondary
    ];

    // Server error codes that refuse one document for what it is, not for the state of the cluster: retrying the same
    // write can never succeed, so the record is rejected (RejectReason.Unstorable) instead of retried.
    private static readonly HashSet<int> DocumentCodes =
    [
        2,     // BadValue (e.g. an invalid field name for this server version)
        14,    // TypeMismatch
        15,    // Overflow (nesting too deep)
        16,    // InvalidLength
        22,    // InvalidBSON
        28,    // PathNotViable ($set "_nv.lsn" into a document whose _nv is not an object)
        52,    // DollarPrefixedFieldName
        55,    // InvalidDBRef
        56,    // EmptyFieldName
        53,    // InvalidIdField
        57,    // DottedFieldName
        66,    // ImmutableField
        121,   // DocumentValidationFailure (a validator someone put on the collection)
        10334, // BSONObjectTooLarge
        17419, // document after update larger than the limit (older servers)
        17420, // document after update larger than the limit (older servers)
    ];

    private static readonly string[] TransientLabels =
        ["RetryableWriteError", "TransientTransactionError", "NetworkError", "RetryableError", "SystemOverloadedError"];

    /// <summary>Whether a retry later may succeed. A write-concern error is transient too: the write may or may not be
    /// durable, so no result is returned and the retry decides from the stored state.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        MongoConnectionException or MongoNotPrimaryException or MongoNodeIsRecoveringException or MongoExecutionTimeoutException
            or MongoWriteConcernException => true,
        // Connection pool states: paused after a server was marked unknown (a failover), or too many waiters.
        MongoConnectionPoolPausedException or MongoWaitQueueFullException => true,
        // Our own wrap of a failure (initialization, reads) keeps its classification.
        DbWriterException db => db.IsTransient,
        // Server selection gives up with a plain TimeoutException when no server answers.
        TimeoutException => true,
        MongoException m when TransientLabels.Any(m.HasErrorLabel) => true,
        MongoWriteException w => w.WriteConcernError is not null || (w.WriteError is { } e && TransientCodes.Contains(e.Code)),
        MongoBulkWriteException b => b.WriteConcernError is not null || b.WriteErrors.Any(e => TransientCodes.Contains(e.Code)),
        MongoCommandException c => TransientCodes.Contains(c.Code),
        _ => false,
    };

    /// <summary>Whether a server write error refuses the document itself (retrying can never succeed).</summary>
    public static bool IsDocumentRejection(int code) => DocumentCodes.Contains(code);

    /// <summary>Whether the failure is E11000 (a unique index, here <c>_id</c>, already holds the key).</summary>
    public static bool IsDuplicateKey(Exception exception) => exception switch
    {
        MongoWriteException w => w.WriteError is { } e && (e.Category == ServerErrorCategory.DuplicateKey || e.Code == DuplicateKey),
        MongoBulkWriteException b => b.WriteErrors.Count > 0
            && b.WriteErrors.All(e => e.Category == ServerErrorCategory.DuplicateKey || e.Code == DuplicateKey),
        MongoCommandException c => c.Code == DuplicateKey,
        _ => false,
    };

    /// <summary>Wraps a failure outside <see cref="IDbWriter.ApplyAsync"/> (reads, purge, open).</summary>
    public static DbWriterException Wrap(Exception exception, string operation) => new(
        $"MongoDB {operation} failed: {exception.Message}",
        IsTransient(exception),
        (exception as MongoCommandException)?.Code,
        exception);
}
