using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The two fields a stored request outcome holds for some requests only (<see cref="RequestOutcome.FailedItem"/>,
/// <see cref="RequestOutcome.RecordId"/>): what each writer stores, and what each refuses when it reads one back.</summary>
internal static class RequestOutcomeFields
{
    /// <summary>The failed item to store: a rejected batch's first rejected item, nothing otherwise.</summary>
    public static int? FailedItemOf(ApplyStatus status, int? failedItem) => status == ApplyStatus.Rejected ? failedItem : null;

    /// <summary>The record id to store: an audit event's (its audit entry's id), nothing otherwise.</summary>
    public static Guid? RecordIdOf(WalRecord record) => record.Operation == WalOperation.AuditEvent ? record.Id : null;

    /// <summary>What is wrong with a stored failed item, or null when it fits (absent, or a rejected batch's item from 0).</summary>
    public static string? FailedItemProblem(WalOperation? operation, ApplyStatus status, int? failedItem) =>
        failedItem is { } item && (item < 0 || operation != WalOperation.Batch || status != ApplyStatus.Rejected)
            ? $"failed item {item} (only a rejected batch names one, from 0)"
            : null;

    /// <summary>Whether an outcome of <paramref name="operation"/> may hold a record id (only an audit event's).</summary>
    public static bool MayHoldRecordId(WalOperation? operation) => operation == WalOperation.AuditEvent;
}
