using System.Globalization;
using MongoDB.Bson;
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

    // Write-concern error codes (the write reached the primary; the concern was not satisfied) that mean "not now": the
    // replication wait ran out, or the primary changed or shut down while it waited. (Listed for the record: every code
    // but the configuration ones below is classified transient.)
    private static readonly HashSet<int> TransientWriteConcernCodes =
    [
        64,    // WriteConcernTimeout (wtimeout)
        91,    // ShutdownInProgress
        189,   // PrimarySteppedDown
        10107, // NotWritablePrimary
        11600, // InterruptedAtShutdown
        11602, // InterruptedDueToReplStateChange
        13435, // NotPrimaryNoSecondaryOk
        13436, // NotPrimaryOrSecondary
    ];

    // Write-concern error codes that say the configured write concern itself cannot work on this deployment: retrying the
    // same write can never satisfy it, so the store stops and the message names the setting.
    private static readonly Dictionary<int, string> ConfigurationWriteConcernCodes = new()
    {
        [2] = "BadValue",
        [9] = "FailedToParse",
        [79] = "UnknownReplWriteConcern",
        [100] = "UnsatisfiableWriteConcern",
    };

    private static readonly string[] TransientLabels =
        ["RetryableWriteError", "TransientTransactionError", "NetworkError", "RetryableError", "SystemOverloadedError"];

    /// <summary>Whether a retry later may succeed. A write-concern error is classified by its own code: a replication wait
    /// that ran out or a primary that changed is transient (the write may or may not be durable, so no result is returned
    /// and the retry decides from the stored state), a write concern the deployment cannot satisfy (an unknown tag, more
    /// members than it has, a malformed concern) is not; any other code counts as transient, as every write-concern error
    /// did before (whatever write error comes with it: the write's durability is unknown, and the retry reads what is
    /// stored). A cursor the server no longer knows (killed by a failover, timed out) is transient: the read is run again.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        _ when WriteConcernCode(exception) is { } code => !ConfigurationWriteConcernCodes.ContainsKey(code),
        MongoCursorNotFoundException => true,
        MongoConnectionException or MongoNotPrimaryException or MongoNodeIsRecoveringException or MongoExecutionTimeoutException => true,
        // Connection pool states: paused after a server was marked unknown (a failover), or too many waiters.
        MongoConnectionPoolPausedException or MongoWaitQueueFullException => true,
        // Our own wrap of a failure (initialization, reads) keeps its classification.
        DbWriterException db => db.IsTransient,
        // Server selection gives up with a plain TimeoutException when no server answers.
        TimeoutException => true,
        MongoException m when TransientLabels.Any(m.HasErrorLabel) => true,
        MongoWriteException w => w.WriteError is { } e && TransientCodes.Contains(e.Code),
        MongoBulkWriteException b => b.WriteErrors.Any(e => TransientCodes.Contains(e.Code)),
        MongoCommandException c => TransientCodes.Contains(c.Code),
        _ => false,
    };

    /// <summary>The code of the write-concern error <paramref name="exception"/> carries, or null when it carries none.</summary>
    public static int? WriteConcernCode(Exception exception) => exception switch
    {
        MongoWriteException { WriteConcernError: { } error } => error.Code,
        MongoBulkWriteException { WriteConcernError: { } error } => error.Code,
        // A command's (a transaction's commit, say): the code is in the reply's writeConcernError.
        MongoWriteConcernException c => c.Result?.GetValue("writeConcernError", BsonNull.Value) is BsonDocument error
            && error.GetValue("code", BsonNull.Value) is { IsNumeric: true } code ? code.ToInt32() : c.Code,
        _ => null,
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

    /// <summary>Wraps a failure outside <see cref="IDbWriter.ApplyAsync"/> (reads, purge, open), or a non-transient one
    /// inside it. A write concern the deployment refuses says which setting to fix.</summary>
    public static DbWriterException Wrap(Exception exception, string operation) =>
        WriteConcernCode(exception) is { } code && ConfigurationWriteConcernCodes.TryGetValue(code, out var name)
            ? new DbWriterException(
                string.Create(CultureInfo.InvariantCulture, $"MongoDB {operation} failed: the server refused the write concern (error {code}, {name}): ")
                + exception.Message + " This is configuration, not an outage: the write concern (Nv:DbWriter:MongoWriteConcern, "
                + "Nv:Audit:MongoWriteConcern) names a tag the replica set does not define or more members than it has, or is malformed. "
                + "Fix it and restart; the records stay in the WAL.",
                isTransient: false, code, exception)
            : new DbWriterException(
                $"MongoDB {operation} failed: {exception.Message}",
                IsTransient(exception),
                (exception as MongoCommandException)?.Code,
                exception);
}
