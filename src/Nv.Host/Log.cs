using Microsoft.Extensions.Logging;

namespace Nv.Host;

/// <summary>The host's log messages, with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Audit write failed for {DtoType} {Operation} {EntityId} (requestId {RequestId}, lsn {Lsn}); the write succeeded and the entry will be backfilled from the WAL")]
    public static partial void AuditWriteFailed(ILogger logger, Exception? exception, string? dtoType, string operation, string entityId, string requestId, long lsn);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "Audit write failed for system entry {Operation} (requestId {RequestId}); it is parked on disk and stored once the audit store answers")]
    public static partial void SystemAuditWriteFailed(ILogger logger, Exception? exception, string operation, string requestId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Audit backfill wrote {Count} missing entries (audited through lsn {Lsn})")]
    public static partial void AuditBackfilled(ILogger logger, long count, long lsn);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Audit backfill failed at lsn {Lsn}; it will be retried")]
    public static partial void AuditBackfillFailed(ILogger logger, Exception exception, long lsn);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning,
        Message = "The audit store is unavailable at start; writes are accepted and their audit entries will be backfilled once it is writable")]
    public static partial void AuditStoreUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Critical,
        Message = "The write-ahead log failed (file {Path}, {ErrnoName}); Nv accepts no more writes. Nothing after the last durable LSN was acknowledged. Next: {Advice}; recovery will keep exactly the durable records")]
    public static partial void WalFaulted(ILogger logger, Exception exception, string? path, string errnoName, string advice);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning,
        Message = "Database apply of lsn {FirstLsn}..{LastLsn} failed; the records are durable in the WAL and will be retried")]
    public static partial void ApplyFailed(ILogger logger, Exception exception, long firstLsn, long lastLsn);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "The pipeline did not drain before the stop timeout; unapplied records stay in the WAL for the next boot replay")]
    public static partial void PipelineStopTimedOut(ILogger logger);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "WAL rotation failed; it will be retried at the next interval")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3092, Level = LogLevel.Warning,
        Message = "The audit trail's position (lsn {Audited}) is below the WAL's first record (lsn {FirstLsn}): the WAL truncates only below what the audit store made durable, so the records in between are taken as audited. If the audit store was restored from an older copy, entries between them are missing: run nv audit verify")]
    public static partial void AuditedPositionBelowWal(ILogger logger, long audited, long firstLsn);

    [LoggerMessage(EventId = 3090, Level = LogLevel.Warning,
        Message = "A retry of request {RequestId} (lsn {Lsn}) is answered without what only its stored resolution holds (a rejected batch's failed item, an audit event's entry id): the resolution could not be read")]
    public static partial void FailedItemUnknown(ILogger logger, Exception exception, string requestId, long lsn);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Debug, Message = "Pipeline {Stage}: {Count} records through lsn {Lsn} in {Ms:F2} ms")]
    public static partial void StageBatch(ILogger logger, string stage, int count, long lsn, double ms);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Boot replay starting: WAL holds lsn {FirstLsn}..{LastLsn}, applied watermark {Applied}, audited watermark {Audited}")]
    public static partial void ReplayStarting(ILogger logger, long firstLsn, long lastLsn, long applied, long audited);

    [LoggerMessage(EventId = 3025, Level = LogLevel.Warning,
        Message = "The WAL's watermarks (applied {WalApplied}, audited {WalAudited}) were ahead of what the stores hold (database {StoreApplied}, audit {StoreAudited}; a store restored from a backup, replaced, or unreadable): lowered to them, so the WAL keeps every record above them until the stores have it")]
    public static partial void WatermarksAheadOfStores(ILogger logger, long walApplied, long storeApplied, long walAudited, long storeAudited);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Information,
        Message = "Boot replay finished in {DurationMs} ms: {Replayed} records applied, {AlreadyApplied} already applied, {Rejected} rejected, {Backfilled} audit entries backfilled")]
    public static partial void ReplayFinished(ILogger logger, long durationMs, long replayed, long alreadyApplied, long rejected, long backfilled);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning, Message = "Boot replay: database unavailable at lsn {Lsn} ({Error}); retrying in {DelayMs} ms")]
    public static partial void ReplayTransient(ILogger logger, long lsn, string? error, long delayMs);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Information, Message = "Replay progress: {Done}/{Total} records")]
    public static partial void ReplayProgress(ILogger logger, long done, long total);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Warning,
        Message = "Boot replay could not audit lsn {FirstLsn}..{LastLsn}; the records are applied and their entries will be backfilled from the WAL")]
    public static partial void ReplayAuditFailed(ILogger logger, Exception exception, long firstLsn, long lastLsn);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Information, Message = "Nv ready: accepting writes (service {Service}, env {Environment})")]
    public static partial void Ready(ILogger logger, string service, string environment);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Information, Message = "Nv stopping: draining the pipeline and persisting watermarks")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(EventId = 3040, Level = LogLevel.Warning,
        Message = "Authentication is disabled: no API keys are configured (NV_API_KEYS, NV_API_KEYS_FILE); every caller has every role, and Nv listens only on loopback ({Urls})")]
    public static partial void AuthDisabled(ILogger logger, string urls);

    [LoggerMessage(EventId = 3041, Level = LogLevel.Information, Message = "API key authentication enabled with {Count} keys")]
    public static partial void AuthEnabled(ILogger logger, int count);

    [LoggerMessage(EventId = 3042, Level = LogLevel.Warning, Message = "Denied {Status} {Method} {Path} for {Subject}: {Reason}")]
    public static partial void RequestDenied(ILogger logger, int status, string method, string path, string subject, string reason);

    [LoggerMessage(EventId = 3043, Level = LogLevel.Warning, Message = "Could not audit a denied request; the denial stands")]
    public static partial void DenialAuditFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3044, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path} (requestId {RequestId})")]
    public static partial void HttpUnhandled(ILogger logger, Exception exception, string method, string path, string requestId);

    // 3190-3199: HTTP answers whose cause stays in the log (the client gets a fixed message and the request id).
    [LoggerMessage(EventId = 3190, Level = LogLevel.Warning,
        Message = "The database is unavailable for {Method} {Path} (requestId {RequestId}); answered 503 db-unavailable")]
    public static partial void HttpDbUnavailable(ILogger logger, Exception exception, string method, string path, string requestId);

    [LoggerMessage(EventId = 3193, Level = LogLevel.Warning,
        Message = "The audit store is unavailable for {Method} {Path} (requestId {RequestId}); answered 503 audit-unavailable")]
    public static partial void HttpAuditUnavailable(ILogger logger, Exception exception, string method, string path, string requestId);

    [LoggerMessage(EventId = 3191, Level = LogLevel.Warning,
        Message = "GET /v1/ops/status could not read the {What} of chain {Chain} (requestId {RequestId}); the status says so without the cause")]
    public static partial void OpsStatusReadFailed(ILogger logger, Exception exception, string what, string chain, string requestId);

    [LoggerMessage(EventId = 3192, Level = LogLevel.Warning,
        Message = "An audit read was refused (503 audit-busy): all {Max} {What} allowed at once are running ({Setting})")]
    public static partial void AuditReadsBusy(ILogger logger, string what, int max, string setting);

    [LoggerMessage(EventId = 3046, Level = LogLevel.Warning,
        Message = "{Count} further {Status} denials from {Address} between {WindowStart} and {WindowEnd} were counted, not logged or audited one by one (one denials-summarized entry)")]
    public static partial void DenialsSummarized(ILogger logger, long count, int status, string address, DateTimeOffset windowStart, DateTimeOffset windowEnd);

    [LoggerMessage(EventId = 3047, Level = LogLevel.Debug,
        Message = "Refused a request (421) with authentication off: Host '{Host}', local address {LocalAddress}; only loopback is served")]
    public static partial void NotLoopbackRefused(ILogger logger, string host, string localAddress);

    [LoggerMessage(EventId = 3095, Level = LogLevel.Information, Message = "Audit checkpoints signed at stop: {Count} chain(s)")]
    public static partial void AuditCheckpointsSigned(ILogger logger, int count);

    [LoggerMessage(EventId = 3175, Level = LogLevel.Information, Message = "No audit checkpoint signed at stop: {Reason}")]
    public static partial void AuditCheckpointNotSigned(ILogger logger, string reason);

    [LoggerMessage(EventId = 3096, Level = LogLevel.Warning,
        Message = "Audit checkpoint at stop failed; the entries are stored and the next start or append checkpoints them")]
    public static partial void AuditCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3097, Level = LogLevel.Warning,
        Message = "Looking up {Count} request ids among the database's request outcomes failed; the writes whose id it may hold were refused (nothing written), those its request-id filter proves new are appended")]
    public static partial void RequestLookupFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 3098, Level = LogLevel.Error,
        Message = "Audit entry {EntryId} ({Operation}) is lost: the audit store refused it and it could not be parked for later, because {Why}")]
    public static partial void SystemEntryLost(ILogger logger, Exception? exception, Guid entryId, string operation, string why);

    [LoggerMessage(EventId = 3099, Level = LogLevel.Warning,
        Message = "A parked audit entry file is damaged and was moved aside as {Path}.broken; it was not stored")]
    public static partial void ParkedEntryDamaged(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information,
        Message = "Stored {Count} audit entries parked while the audit store was unavailable ({Inserted} new)")]
    public static partial void ParkedEntriesStored(ILogger logger, int count, long inserted);

    [LoggerMessage(EventId = 3114, Level = LogLevel.Error,
        Message = "The WAL holds {Size} bytes, over Nv:Pipeline:MaxWalBytes ({Limit}), because applied records wait for their audit entries; new writes are refused (503) until the audit store is back and the WAL is truncated")]
    public static partial void WalOverLimit(ILogger logger, long size, long limit);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Critical,
        Message = "The stores hold records up to LSN {Highest} but the WAL ends at LSN {WalLast}; the loss was accepted (Nv:Pipeline:AcceptStoreAheadOfWal): LSNs continue above {Highest}. Turn the setting off again")]
    public static partial void StoreAheadAccepted(ILogger logger, long walLast, long highest);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Critical,
        Message = "The pipeline's {Stage} stage failed; Nv accepts no more writes (stop host: {StopHost}). Every waiting caller was answered; acknowledged writes are durable in the WAL and a restart recovers them through boot replay")]
    public static partial void StageFaulted(ILogger logger, Exception exception, string stage, bool stopHost);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Warning, Message = "Durable point of the {Store} failed; the WAL keeps every record it may still need and the next tick retries")]
    public static partial void DurablePointFailed(ILogger logger, Exception exception, string store);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Debug, Message = "Durable point of the audit store failed; the next tick retries")]
    public static partial void AuditDurablePointFailed(ILogger logger, Exception exception);

    // 3150-3169: request ids, idempotency and record limits.
    [LoggerMessage(EventId = 3150, Level = LogLevel.Warning,
        Message = "Write {RequestId} refused with 413: its record is {Size} bytes and the WAL takes at most {Max} (Nv:Wal:MaxRecordBytes); nothing was written and the WAL is open")]
    public static partial void RecordTooLarge(ILogger logger, string requestId, long size, long max);

    [LoggerMessage(EventId = 3151, Level = LogLevel.Warning, Message = "Purging expired request outcomes failed; it will be retried at the next interval")]
    public static partial void RequestPurgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3160, Level = LogLevel.Information,
        Message = "Encryption at rest on: master key {MasterKeyId}; {Keys} data keys for {Subjects} subjects, {Erasures} erasures recorded")]
    public static partial void KeyRingOpened(ILogger logger, string masterKeyId, long keys, long subjects, long erasures);

    [LoggerMessage(EventId = 3161, Level = LogLevel.Debug, Message = "Erased subject {Subject}: its destroyed data keys left memory")]
    public static partial void SubjectKeysForgotten(ILogger logger, string subject);

    [LoggerMessage(EventId = 3162, Level = LogLevel.Information, Message = "Erasure of {Subject} at LSN {Lsn} is durable and scrubbed ({Scrubbed})")]
    public static partial void ErasureCompleted(ILogger logger, string subject, long lsn, bool scrubbed);

    [LoggerMessage(EventId = 3168, Level = LogLevel.Warning,
        Message = "{Count} stored {DtoType} entities written before {DtoType} was mapped to a subject name no {SubjectType} in '{Field}': they stay under their own data keys (no {SubjectType}'s erasure reaches them) until a write names one")]
    public static partial void StoredEntitiesUnnamed(ILogger logger, long count, string dtoType, string subjectType, string field);

    [LoggerMessage(EventId = 3163, Level = LogLevel.Warning, Message = "Encryption at rest is off: payloads are stored in plain text and subjects cannot be erased")]
    public static partial void EncryptionOff(ILogger logger);

    [LoggerMessage(EventId = 3164, Level = LogLevel.Error,
        Message = "Choosing the data keys of {Count} writes failed (key store or master key); they were refused and nothing was written")]
    public static partial void KeyAssignmentFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 3180, Level = LogLevel.Warning,
        Message = "Nv runs IN MEMORY (Nv:Pipeline:InMemory): the WAL, the entities and the audit trail live in this process only. NOTHING IS DURABLE: every write is lost when the process stops. For development and tests only")]
    public static partial void InMemoryMode(ILogger logger);

    [LoggerMessage(EventId = 3181, Level = LogLevel.Debug, Message = "Change feed consumer from LSN {FromLsn} (dtoType {DtoType}) started")]
    public static partial void ChangeFeedStarted(ILogger logger, long fromLsn, string? dtoType);

    [LoggerMessage(EventId = 3182, Level = LogLevel.Information,
        Message = "Change feed consumer asked for LSN {Requested}, which is gone (the WAL now starts at LSN {First}); it was told so")]
    public static partial void ChangeFeedGone(ILogger logger, long requested, long first);

    [LoggerMessage(EventId = 3183, Level = LogLevel.Warning,
        Message = "A change feed stream was refused (503 changes-busy): all {Max} allowed are open (Nv:Http:MaxChangeFeedStreams)")]
    public static partial void ChangeFeedStreamsFull(ILogger logger, int max);

    [LoggerMessage(EventId = 3184, Level = LogLevel.Warning,
        Message = "A change feed stream of key {Key} was refused (429 too-many-streams): it holds all {Max} it may (Nv:Http:MaxChangeFeedStreamsPerKey)")]
    public static partial void ChangeFeedKeyStreamsFull(ILogger logger, string key, int max);
    // 3170-3189: the audit trail as a service (custom events, system events, retention).
    [LoggerMessage(EventId = 3170, Level = LogLevel.Warning,
        Message = "Could not read the audit trail to compare this run's environment with the last one; no environment-change entry is written this time")]
    public static partial void EnvironmentCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3173, Level = LogLevel.Warning,
        Message = "Audit store: {Step} its query indexes failed; should any be missing, audit queries scan the entries until a later build (the next start or nv replay; on a running host, a maintenance pass's retry) makes it (nothing is lost)")]
    public static partial void AuditIndexesFailed(ILogger logger, Exception exception, string step);

    [LoggerMessage(EventId = 3174, Level = LogLevel.Warning,
        Message = "Audit store: retrying the build of its query indexes failed again ({Reason}); the next retry comes after {Passes} maintenance passes")]
    public static partial void AuditIndexRetryFailed(ILogger logger, string reason, int passes);

    [LoggerMessage(EventId = 3171, Level = LogLevel.Warning, Message = "Looking up the audit entry of a retried audit event failed; it is answered without its entry id")]
    public static partial void EventEntryLookupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3172, Level = LogLevel.Warning, Message = "Audit retention (Nv:Audit:Retention) failed; nothing more is pruned until the next maintenance pass")]
    public static partial void RetentionFailed(ILogger logger, Exception exception);
}
