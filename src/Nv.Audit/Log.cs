using Microsoft.Extensions.Logging;

namespace Nv.Audit;

/// <summary>Source-generated log messages of Nv.Audit (event ids 3000–3099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Audit store opened at {Path} (schema version {SchemaVersion})")]
    public static partial void StoreOpened(ILogger logger, string path, int schemaVersion);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Appended {Inserted} of {Count} audit entries ({Skipped} already stored)")]
    public static partial void BatchAppended(ILogger logger, int inserted, int count, int skipped);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug,
        Message = "Audit append of {Count} entries rolled back; chain heads will be reloaded from the store")]
    public static partial void AppendRolledBack(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning,
        Message = "MongoDB audit append of {Count} entries failed; nothing is rolled back: a prefix of them may be stored (an ordered insert stops at its first error) and the retry skips it. Chain heads will be reloaded")]
    public static partial void MongoAppendFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Audit trail verified: {EntriesChecked} entries, every chain intact")]
    public static partial void VerificationPassed(ILogger logger, long entriesChecked);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error,
        Message = "Audit chain {Chain} is broken at sequence {Sequence}: {Reason}. The stored trail was altered; keep the file for investigation")]
    public static partial void VerificationFailed(ILogger logger, string chain, long sequence, string reason);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Warning,
        Message = "Audit chain {Chain}: a checkpoint is signed by key {KeyId}, which this verification was not given, so its signature was not checked (not evidence of tampering): give that key's public half")]
    public static partial void VerificationKeyUnknown(ILogger logger, string chain, string keyId);

    /// <summary>The outcome of a verification, at the level it deserves: a checkpoint signed by a key this process was not
    /// given is a warning, not the alteration an error reports.</summary>
    public static void Verified(ILogger logger, AuditVerification result)
    {
        if (result.IsValid)
        {
            VerificationPassed(logger, result.EntriesChecked);
        }
        else if (result.UnknownKeyId is { } keyId)
        {
            VerificationKeyUnknown(logger, result.BrokenChain!, keyId);
        }
        else
        {
            VerificationFailed(logger, result.BrokenChain!, result.BrokenSequence ?? 0, result.Reason!);
        }
    }

    [LoggerMessage(EventId = 3018, Level = LogLevel.Warning,
        Message = "MongoDB audit trail: this process signs no checkpoint: {Reason}. Entries are appended as usual; proofs use the checkpoints other processes sign")]
    public static partial void MongoSigningRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 3058, Level = LogLevel.Warning,
        Message = "Audit store {Path}: this process signs no checkpoint: {Reason}. Entries are appended as usual; the next checkpoint the host signs covers them")]
    public static partial void SigningSkipped(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Audit store {Path} closed")]
    public static partial void StoreClosed(ILogger logger, string path);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Audit checkpoint signing key {KeyId} loaded from {Source}")]
    public static partial void SigningKeyLoaded(ILogger logger, string source, string keyId);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning,
        Message = "No audit signing key configured: generated key {KeyId} into {Path} (public key {PublicPath}). Back it up, give the public key to auditors, or set NV_AUDIT_SIGNING_KEY / Nv:Audit:SigningKeyPath")]
    public static partial void SigningKeyGenerated(ILogger logger, string path, string publicPath, string keyId);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Debug, Message = "Audit checkpoint signed: chain {Chain}, size {Size}, root {Root}")]
    public static partial void CheckpointSigned(ILogger logger, string chain, long size, string root);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning,
        Message = "Audit checkpoint of chain {Chain} failed; the entries are stored and signing is retried in {RetrySeconds} s")]
    public static partial void CheckpointFailed(ILogger logger, string chain, double retrySeconds, Exception exception);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Audit store migrated to schema version {SchemaVersion}: {Leaves} Merkle leaves computed for existing entries")]
    public static partial void StoreMigrated(ILogger logger, int schemaVersion, long leaves);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Debug, Message = "Background SQLite WAL checkpoint of the audit store failed; retrying at the next tick")]
    public static partial void WalCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Information,
        Message = "Audit store: appending about {Entries} entries ({Held} held) without four of its five query indexes; they are built in bulk at the end of the replay")]
    public static partial void QueryIndexesDeferred(ILogger logger, long entries, long held);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Information, Message = "Audit store: building the query indexes {Indexes} over {Held} entries")]
    public static partial void QueryIndexesBuilding(ILogger logger, string indexes, long held);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Information, Message = "Audit store: {Count} query indexes built in {Seconds:F1} s")]
    public static partial void QueryIndexesBuilt(ILogger logger, int count, double seconds);

    // 3050-3069: archives and retention.
    [LoggerMessage(EventId = 3050, Level = LogLevel.Warning, Message = "The audit store could not record its own {Operation} entry; the WARN above says what happened")]
    public static partial void SystemEntryFailed(ILogger logger, string operation, Exception exception);

    [LoggerMessage(EventId = 3051, Level = LogLevel.Information,
        Message = "Archived chain {Chain} entries {First}..{Last} to {File} (verified, recorded)")]
    public static partial void Archived(ILogger logger, string chain, long first, long last, string file);

    [LoggerMessage(EventId = 3052, Level = LogLevel.Information, Message = "Pruned chain {Chain} entries {First}..{Last}: they are in the verified archive {File}")]
    public static partial void Pruned(ILogger logger, string chain, long first, long last, string file);

    [LoggerMessage(EventId = 3053, Level = LogLevel.Warning,
        Message = "Not pruning chain {Chain} from entry {First}: its archive {File} does not verify against the store ({Reason}); restore the file or archive again")]
    public static partial void PruneSkipped(ILogger logger, string chain, long first, string file, string reason);

    [LoggerMessage(EventId = 3055, Level = LogLevel.Critical,
        Message = "The audit store {Path} stopped after a failed sync; entries since its last durable point may not be on disk. Check the disk and reboot the machine (the page cache may still hold what the disk lost) before starting Nv again: boot replay then rebuilds them from the WAL")]
    public static partial void StoreStoppedAfterSyncFailure(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3054, Level = LogLevel.Information, Message = "Removed {File}: an unrecorded archive a crashed run left")]
    public static partial void OrphanArchiveRemoved(ILogger logger, string file);

    [LoggerMessage(EventId = 3056, Level = LogLevel.Warning,
        Message = "Audit verification: {Rows} archive rows were recorded before the archive ledger and are not committed to by the chain; the next nv audit archive commits to them")]
    public static partial void ArchiveRowsUnverified(ILogger logger, long rows);

    [LoggerMessage(EventId = 3057, Level = LogLevel.Warning,
        Message = "Archive of chain {Chain}: its audit-archived entry now commits to {Rows} archive rows recorded before the archive ledger, as they are; they were checked as nv audit verify checks them (consecutive ranges, the newest one against its entry)")]
    public static partial void ArchiveLedgerTookInUnverifiedRows(ILogger logger, string chain, long rows);
}
