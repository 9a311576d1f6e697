using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The outcome of one write, as returned to its caller (and to any retry with the same request id).</summary>
public sealed record WriteOutcome
{
    /// <summary>The request id.</summary>
    public required string RequestId { get; init; }

    /// <summary>Applied, rejected or pending.</summary>
    public required WriteStatus Status { get; init; }

    /// <summary>The WAL position of the write: its durable identity and the entity's new version (ETag) when applied.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>Why it was rejected.</summary>
    public RejectReason RejectReason { get; init; }

    /// <summary>Human-readable detail for rejections and pending writes.</summary>
    public string? Detail { get; init; }

    /// <summary>True when this outcome was returned for a retried request id (nothing new was written).</summary>
    public bool IsReplay { get; init; }

    /// <summary>True when the write's audit entry was committed to the trail before this outcome was answered: an
    /// <see cref="AckLevel.Audited"/> caller's answer, when the audit store took the entry. False for other levels, for a
    /// rejection (it has no entry), and during an audit outage, when the entry waits for the backfill (an audit failure
    /// never fails a write).</summary>
    public bool IsAudited { get; init; }

    /// <summary>For a rejected batch: the item that rejected it.</summary>
    public int? FailedItem { get; init; }

    /// <summary>For an applied erasure (<see cref="IWritePipeline.EraseAsync"/>): what it destroyed, as the key store
    /// recorded it when the erasure was first applied (a retry of the request id, and <see cref="IWritePipeline.GetOutcomeAsync"/>,
    /// get the same counts). Both
    /// <see cref="SubjectErasure.KeysDestroyed"/> and <see cref="SubjectErasure.EntitiesDeleted"/> zero: nothing was found
    /// to erase (a mistyped id, say), and <see cref="Detail"/> says so; the erasure is recorded and audited all the same.
    /// Null for other writes and for an erasure not applied.</summary>
    public SubjectErasure? Erasure { get; init; }

    /// <summary>The id of the WAL record (and of its audit entry), when this process knows it.</summary>
    internal Guid? RecordId { get; init; }

    /// <summary>An applied erasure whose erased content may remain in the entity store's files (<see cref="Detail"/> says
    /// where and what to do).</summary>
    internal bool Unscrubbed { get; init; }
}
