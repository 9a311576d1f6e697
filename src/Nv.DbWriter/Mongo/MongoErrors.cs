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
        50,    // MaxTimeMSExpired
        64,    // WriteConcernFailed (wtimeout)
        89,    // NetworkTimeout
        91,    // ShutdownInProgress
        112,   // WriteConflict
        134,   // ReadConcernMajorityNotAvailableYet
        189,   // PrimarySteppedDown
        262,   // ExceededTimeLimit
        9001,  // SocketException
        10107, // NotWritablePrimary
        11600, // InterruptedAtShutdown
        11602, // InterruptedDueToReplStateChange
        13435, // NotPrimaryNoSecondaryOk
        13436, // NotPrimaryOrSecondary
    ];

    private static readonly string[] TransientLabels = ["RetryableWriteError", "TransientTransactionError", "NetworkError"];

    /// <summary>Whether a retry later may succeed. A write-concern error is transient too: the write may or may not be
    /// durable, so no result is returned and the retry decides from the stored state.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        MongoConnectionException or MongoNotPrimaryException or MongoNodeIsRecoveringException or MongoExecutionTimeoutException
            or MongoWriteConcernException => true,
        // Server selection gives up with a plain TimeoutException when no server answers.
        TimeoutException => true,
        MongoException m when TransientLabels.Any(m.HasErrorLabel) => true,
        MongoWriteException w => w.WriteConcernError is not null || (w.WriteError is { } e && TransientCodes.Contains(e.Code)),
        MongoBulkWriteException b => b.WriteConcernError is not null || b.WriteErrors.Any(e => TransientCodes.Contains(e.Code)),
        MongoCommandException c => TransientCodes.Contains(c.Code),
        _ => false,
    };

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
