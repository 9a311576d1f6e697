using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The durable outcome of one WAL record, stored by the writer in the same transaction as the entity write.</summary>
/// <remarks>This is the writer's transactional outbox: it makes replay exact (a record's outcome is never re-decided)
/// and gives the audit backfill the exact before/after images after a crash.</remarks>
public sealed record RecordResolution
{
    /// <summary>The record's LSN.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>The WAL record id.</summary>
    public required Guid WalId { get; init; }

    /// <summary>The request that carried the write.</summary>
    public required string RequestId { get; init; }

    /// <summary><see cref="ApplyStatus.Applied"/> or <see cref="ApplyStatus.Rejected"/>; or <see cref="ApplyStatus.AlreadyApplied"/>
    /// when the record was superseded (a record with a higher LSN had already written its slot when it was applied out of
    /// order), in which case nothing was written and <see cref="Before"/> is null.</summary>
    public required ApplyStatus Status { get; init; }

    /// <summary>Why it was rejected, if it was.</summary>
    public RejectReason RejectReason { get; init; }

    /// <summary>State before the write (null when the entity did not exist). The after image is the WAL record's
    /// payload (null for deletes), so it is not stored twice.</summary>
    public JsonElement? Before { get; init; }

    /// <summary>For a rejected batch record: the index of the item whose rule failed.</summary>
    public int? FailedItem { get; init; }

    /// <summary>For an applied batch record: per item, in order, its status (<see cref="ApplyStatus.Applied"/>, or
    /// <see cref="ApplyStatus.AlreadyApplied"/> when superseded) and exact before image; null otherwise.</summary>
    public IReadOnlyList<ApplyResult>? Items { get; init; }
}
