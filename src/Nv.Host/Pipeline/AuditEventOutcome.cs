using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>What became of a custom audit event (<see cref="IAuditEventWriter.RecordAsync"/>), as returned to its caller and
/// to any retry with the same request id.</summary>
public sealed record AuditEventOutcome
{
    /// <summary>The request id.</summary>
    public required string RequestId { get; init; }

    /// <summary><see cref="WriteStatus.Applied"/> once the event is recorded (its entry is in the trail, or follows at once
    /// for <see cref="AckLevel.Applied"/>), <see cref="WriteStatus.Accepted"/> when only the WAL holds it yet
    /// (<see cref="AckLevel.Durable"/>), <see cref="WriteStatus.Pending"/> while the database cannot record its request id
    /// (it is durable and will be recorded). Never rejected.</summary>
    public required WriteStatus Status { get; init; }

    /// <summary>The event's WAL position.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>The id of the event's audit entry (<c>GET /v1/audit/entries/{id}</c>), or null when a retry's first
    /// attempt is no longer known in this process and its entry is not in the trail yet.</summary>
    public Guid? EntryId { get; init; }

    /// <summary>Human-readable detail for pending and accepted events.</summary>
    public string? Detail { get; init; }

    /// <summary>True when this outcome was returned for a retried request id (nothing new was recorded).</summary>
    public bool IsReplay { get; init; }

    /// <summary>True when the write's audit entry was committed to the trail before this outcome was answered (see
    /// <see cref="WriteOutcome.IsAudited"/>).</summary>
    public bool IsAudited { get; init; }
}
