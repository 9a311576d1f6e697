using System.Reflection;

namespace Nv.Audit;

/// <summary>The operation names of the entries Nv records about itself (service start and stop, environment changes,
/// denied requests, WAL and store faults, replay, checkpoints, archives, prunes). Every such name is declared here, and
/// <see cref="All"/> (the names a custom audit event may not take, so none can pose as one of Nv's own entries) is read
/// from these declarations: a new system entry is reserved by declaring its name, nothing else to keep in step.</summary>
public static class NvOperations
{
    /// <summary>Operation of a service-start entry.</summary>
    public const string ServiceStart = AuditEntryFactory.ServiceStartOperation;
    /// <summary>Operation of a service-stop entry.</summary>
    public const string ServiceStop = AuditEntryFactory.ServiceStopOperation;
    /// <summary>Operation of an environment-change entry.</summary>
    public const string EnvironmentChanged = AuditEntryFactory.EnvironmentChangedOperation;
    /// <summary>Operation of the entry written after boot replay.</summary>
    public const string ReplayFinished = AuditEntryFactory.ReplayFinishedOperation;
    /// <summary>Operation of a denied request without a valid API key (401).</summary>
    public const string AuthenticationFailed = AuditEntryFactory.AuthenticationFailedOperation;
    /// <summary>Operation of a denied request whose key lacks the role (403).</summary>
    public const string PermissionDenied = AuditEntryFactory.PermissionDeniedOperation;
    /// <summary>Operation of the entry that counts a window's denials from one address not written one by one.</summary>
    public const string DenialsSummarized = AuditEntryFactory.DenialsSummarizedOperation;
    /// <summary>Operation of the WAL failed (system-events).</summary>
    public const string WalFaulted = "wal-faulted";
    /// <summary>Operation of the database store stopped after a permanent error.</summary>
    public const string StoreStopped = "store-stopped";
    /// <summary>Operation of a pipeline stage failed unexpectedly.</summary>
    public const string PipelineFaulted = "pipeline-faulted";
    /// <summary>Operation of WAL records below every watermark were truncated.</summary>
    public const string WalTruncated = "wal-truncated";
    /// <summary>Operation of recovery cut a damaged WAL tail.</summary>
    public const string WalTailCut = "wal-tail-cut";
    /// <summary>Operation of recovery skipped WAL records.</summary>
    public const string WalRecordsSkipped = "wal-records-skipped";
    /// <summary>Operation of a Merkle checkpoint could not be signed.</summary>
    public const string CheckpointFailed = "checkpoint-failed";
    /// <summary>Operation of audit entries were archived to a file.</summary>
    public const string AuditArchived = "audit-archived";
    /// <summary>Operation of archived audit entries were pruned from the store.</summary>
    public const string AuditPruned = "audit-pruned";

    /// <summary>Every name declared above.</summary>
    public static IReadOnlySet<string> All { get; } = typeof(NvOperations)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(static f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(static f => (string)f.GetRawConstantValue()!)
        .ToHashSet(StringComparer.Ordinal);
}
