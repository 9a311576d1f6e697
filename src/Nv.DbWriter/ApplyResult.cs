using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The outcome of applying one WAL record.</summary>
public sealed record ApplyResult
{
    /// <summary>The record's LSN.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>Applied, already applied, rejected or transient.</summary>
    public required ApplyStatus Status { get; init; }

    /// <summary>Why it was rejected, when <see cref="Status"/> is <see cref="ApplyStatus.Rejected"/>.</summary>
    public RejectReason RejectReason { get; init; }

    /// <summary>The entity state before the write (null when it did not exist), read atomically with the write.</summary>
    public JsonElement? Before { get; init; }

    /// <summary>The entity state after the write (null for deletes).</summary>
    public JsonElement? After { get; init; }

    /// <summary>A human-readable reason for rejection or transient failure.</summary>
    public string? Error { get; init; }

    /// <summary>For a batch record that was rejected: the index of the first item whose rule failed (every other item
    /// was rejected with it, nothing of the batch was written).</summary>
    public int? FailedItem { get; init; }

    /// <summary>For a batch record that was applied (or already applied): one result per item, in order, each with the
    /// item's status (<see cref="ApplyStatus.Applied"/>, or <see cref="ApplyStatus.AlreadyApplied"/> when a later record
    /// had already written its slot) and before/after images. Null for single-entity records and rejected batches.</summary>
    public IReadOnlyList<ApplyResult>? Items { get; init; }
}
