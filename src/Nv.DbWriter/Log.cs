using Microsoft.Extensions.Logging;

namespace Nv.DbWriter;

/// <summary>Source-generated log messages of Nv.DbWriter (event ids 3000–3099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "SQLite database writer opened {Path} (journal_mode={JournalMode}, synchronous={Synchronous}, resolved through {ResolvedThrough})")]
    public static partial void SqliteOpened(this ILogger logger, string path, string journalMode, long synchronous, long resolvedThrough);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "SQLite database writer closed {Path}")]
    public static partial void SqliteClosed(this ILogger logger, string path);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug,
        Message = "Committed batch of {Count} records (LSN {FirstLsn}..{LastLsn}): {Applied} applied, {AlreadyApplied} already applied, {Rejected} rejected; resolved through {ResolvedThrough}")]
    public static partial void BatchCommitted(this ILogger logger, int count, long firstLsn, long lastLsn, int applied, int alreadyApplied,
        int rejected, long resolvedThrough);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning,
        Message = "Transient database failure applying {Count} records (LSN {FirstLsn}..{LastLsn}); the batch was rolled back and will be retried: {Error}")]
    public static partial void BatchTransient(this ILogger logger, Exception exception, int count, long firstLsn, long lastLsn, string error);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error,
        Message = "Non-transient database failure applying {Count} records (LSN {FirstLsn}..{LastLsn}); the batch was rolled back")]
    public static partial void BatchFailed(this ILogger logger, Exception exception, int count, long firstLsn, long lastLsn);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Rollback after a failed batch also failed (SQLite may already have rolled back)")]
    public static partial void RollbackFailed(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information,
        Message = "Purged resolutions and tombstones at or below LSN {UpTo}: {Resolutions} resolutions, {Tombstones} tombstones")]
    public static partial void Purged(this ILogger logger, long upTo, int resolutions, int tombstones);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning,
        Message = "Purge requested up to LSN {Requested} but only LSN {ResolvedThrough} is resolved; purging up to {ResolvedThrough} only")]
    public static partial void PurgeClamped(this ILogger logger, long requested, long resolvedThrough);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Trace, Message = "LSN {Lsn} {Operation} {DtoType}/{EntityId}: {Status} {RejectReason}")]
    public static partial void RecordApplied(this ILogger logger, long lsn, Nv.Wal.WalOperation operation, string dtoType, string entityId,
        ApplyStatus status, RejectReason rejectReason);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Debug, Message = "Created table {Table} for dtoType {DtoType}")]
    public static partial void TableCreated(this ILogger logger, string table, string dtoType);

    [LoggerMessage(EventId = 3050, Level = LogLevel.Debug, Message = "SQLite durable point: every record through LSN {Lsn} survives a power loss")]
    public static partial void DurablePoint(this ILogger logger, long lsn);

    // 3080-3089: store failures and the idempotency (request outcome) table.
    [LoggerMessage(EventId = 3080, Level = LogLevel.Critical,
        Message = "The database store {Path} is stopped after a {ErrorClass} failure: nothing more is applied or acknowledged through it until an operator checks it and restarts Nv")]
    public static partial void StoreStopped(this ILogger logger, Exception exception, string path, DbErrorClass errorClass);

    [LoggerMessage(EventId = 3081, Level = LogLevel.Information,
        Message = "Migrated the SQLite store {Path} from schema version {From} to {To} in place: {Carried} stored outcomes kept as request outcomes for one retention window")]
    public static partial void SchemaMigrated(this ILogger logger, string path, int from, int to, int carried);

    [LoggerMessage(EventId = 3082, Level = LogLevel.Information, Message = "Purged {Count} request outcomes created before {Cutoff:o} (idempotency retention)")]
    public static partial void RequestsPurged(this ILogger logger, long count, DateTimeOffset cutoff);

    [LoggerMessage(EventId = 3083, Level = LogLevel.Debug,
        Message = "Request-id filter built from {Count} stored request ids (sized for {Capacity}, {Bytes} bytes) in {Milliseconds:F0} ms")]
    public static partial void RequestIdFilterBuilt(this ILogger logger, long count, long capacity, long bytes, double milliseconds);

    [LoggerMessage(EventId = 3084, Level = LogLevel.Warning,
        Message = "Could not build the request-id filter (lookups read the store meanwhile, as they would without it); trying again in {Seconds} s")]
    public static partial void RequestIdFilterFailed(this ILogger logger, Exception exception, double seconds);

    [LoggerMessage(EventId = 3085, Level = LogLevel.Warning,
        Message = "Background checkpoint of {Path} failed; trying again at the next tick (the writer's own checkpoint bounds the SQLite WAL file meanwhile)")]
    public static partial void WalCheckpointFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 3090, Level = LogLevel.Information,
        Message = "Erased subject {Subject} at LSN {Lsn}: {KeysDestroyed} data keys destroyed, {EntitiesDeleted} live entities deleted")]
    public static partial void SubjectErased(this ILogger logger, long lsn, string subject, int keysDestroyed, int entitiesDeleted);

    [LoggerMessage(EventId = 3091, Level = LogLevel.Information, Message = "Key store: {Count} data keys stored ({Purpose})")]
    public static partial void KeysStored(this ILogger logger, int count, string purpose);

    [LoggerMessage(EventId = 3092, Level = LogLevel.Information, Message = "Key store: {Count} unassigned data keys deleted")]
    public static partial void UnassignedKeysDeleted(this ILogger logger, long count);

    [LoggerMessage(EventId = 3094, Level = LogLevel.Information,
        Message = "Key store: {Count} stored {DtoType} entities written before their type was mapped to a subject are mapped to it now, with their own data keys")]
    public static partial void StoredEntitiesMapped(this ILogger logger, string dtoType, long count);

    [LoggerMessage(EventId = 3093, Level = LogLevel.Warning,
        Message = "Scrub of {Path}: a reader held the SQLite WAL file; it is emptied at the next scrub")]
    public static partial void ScrubIncomplete(this ILogger logger, string path);
}
