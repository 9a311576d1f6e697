using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The outcome of a batch, as returned to its caller (and to any retry with the same request id).</summary>
public sealed record BatchOutcome
{
    /// <summary>The request id.</summary>
    public required string RequestId { get; init; }

    /// <summary>Applied (every item), rejected (no item), accepted or pending, as for a single write.</summary>
    public required WriteStatus Status { get; init; }

    /// <summary>The batch's WAL position: its durable identity and the new version (ETag) of every entity it wrote;
    /// <see cref="Lsn.None"/> when it was refused before reaching the WAL (a patch of a missing entity or a stale
    /// precondition found while reading).</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>Why it was rejected.</summary>
    public RejectReason RejectReason { get; init; }

    /// <summary>The item that rejected the batch.</summary>
    public int? FailedItem { get; init; }

    /// <summary>Human-readable detail for rejections and pending batches (names the item).</summary>
    public string? Detail { get; init; }

    /// <summary>True when this outcome was returned for a retried request id (nothing new was written).</summary>
    public bool IsReplay { get; init; }

    /// <summary>True when the write's audit entry was committed to the trail before this outcome was answered (see
    /// <see cref="WriteOutcome.IsAudited"/>).</summary>
    public bool IsAudited { get; init; }

    /// <summary>Each item's outcome, in request order.</summary>
    public required IReadOnlyList<BatchItemOutcome> Items { get; init; }
}
