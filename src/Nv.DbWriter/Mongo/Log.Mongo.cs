using Microsoft.Extensions.Logging;

// Part of the project's one Log class (CONVENTIONS §4), kept next to the MongoDB writer; the namespace is the class's.
namespace Nv.DbWriter;

/// <summary>Log messages of the MongoDB writer (event ids 3050–3069).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3050, Level = LogLevel.Information,
        Message = "MongoDB database writer connected to {Servers}, database {Database} ({Topology}, write concern {WriteConcern}, reads from the primary, resolved through {ResolvedThrough})")]
    public static partial void MongoOpened(this ILogger logger, string servers, string database, string topology, string writeConcern,
        long resolvedThrough);

    [LoggerMessage(EventId = 3051, Level = LogLevel.Information, Message = "MongoDB database writer closed ({Servers}, database {Database})")]
    public static partial void MongoClosed(this ILogger logger, string servers, string database);

    [LoggerMessage(EventId = 3052, Level = LogLevel.Debug,
        Message = "LSN {Lsn} {DtoType}/{EntityId}: the upsert hit E11000 and the stored LSN {StoredLsn} proves the record already applied")]
    public static partial void DuplicateKeyAlreadyApplied(this ILogger logger, long lsn, string dtoType, string entityId, long storedLsn);

    [LoggerMessage(EventId = 3053, Level = LogLevel.Information,
        Message = "Completing {Count} records whose outcome was stored before a failure (pending resolutions from LSN {FirstLsn})")]
    public static partial void CompletingPending(this ILogger logger, int count, long firstLsn);

    [LoggerMessage(EventId = 3054, Level = LogLevel.Information,
        Message = "MongoDB database {Database} upgraded from Nv schema version {From} to {To}")]
    public static partial void MongoSchemaUpgraded(this ILogger logger, string database, int from, int to);

    [LoggerMessage(EventId = 3055, Level = LogLevel.Warning,
        Message = "LSN {Lsn} {DtoType}/{EntityId} rejected (Unstorable), never retried: {Error}")]
    public static partial void RecordUnstorable(this ILogger logger, long lsn, string dtoType, string entityId, string error);

    [LoggerMessage(EventId = 3056, Level = LogLevel.Information, Message = "Deciding the batch again after LSN {Lsn}: {Reason}")]
    public static partial void BatchRedecided(this ILogger logger, long lsn, string reason);

    [LoggerMessage(EventId = 3057, Level = LogLevel.Warning,
        Message = "{DtoType}/{EntityId} is a document Nv did not write (no valid _nv field): read as not found, writes to it are rejected")]
    public static partial void ForeignDocumentRead(this ILogger logger, string dtoType, string entityId);

    [LoggerMessage(EventId = 3058, Level = LogLevel.Information,
        Message = "LSNs {First} to {Last} are not in the WAL (a recovery skip or an accepted loss): the watermark passes them")]
    public static partial void MongoWalHole(this ILogger logger, long first, long last);
}
