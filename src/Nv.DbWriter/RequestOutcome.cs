using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The stored outcome of a request id (its idempotency record): written in the same transaction as the
/// request's record is applied, and kept for the retention window whatever happens to the WAL.</summary>
/// <remarks>A retry of the request returns this outcome and writes nothing; the same id with a different
/// <see cref="Fingerprint"/> is a different request and is refused.</remarks>
public sealed record RequestOutcome
{
    /// <summary>The caller, or null for an outcome recorded before request ids were scoped (it matches every caller).</summary>
    public string? Scope { get; init; }

    /// <summary>The request id.</summary>
    public required string RequestId { get; init; }

    /// <summary>The LSN of the request's record: its durable identity and, when applied, the entity's version.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>Applied, already applied (superseded when first applied) or rejected.</summary>
    public required ApplyStatus Status { get; init; }

    /// <summary>Why it was rejected, if it was.</summary>
    public RejectReason RejectReason { get; init; }

    /// <summary>The request's fingerprint (64 lowercase hex digits), or null when unknown.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>The operation, or null when unknown (outcomes recorded before request ids were scoped).</summary>
    public WalOperation? Operation { get; init; }

    /// <summary>The entity type, or null when unknown.</summary>
    public string? DtoType { get; init; }

    /// <summary>The entity id, or null when unknown.</summary>
    public string? EntityId { get; init; }

    /// <summary>A rejected batch's first rejected item (0-based), or null (not a rejected batch, or an outcome stored
    /// before the store kept it: then it is known only while the record's resolution is).</summary>
    public int? FailedItem { get; init; }

    /// <summary>An audit event's record id (its audit entry's id), or null (not an audit event, or an outcome stored before
    /// the store kept it).</summary>
    public Guid? RecordId { get; init; }

    /// <summary>When the request was accepted (its record's timestamp); it expires a retention window later.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}
