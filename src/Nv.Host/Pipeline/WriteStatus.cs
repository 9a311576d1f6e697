namespace Nv.Host.Pipeline;

/// <summary>What became of a write.</summary>
public enum WriteStatus
{
    /// <summary>Durable in the WAL and committed to the database.</summary>
    Applied = 1,

    /// <summary>Durable in the WAL and deterministically rejected by the database (conflict, not found, precondition).</summary>
    Rejected = 2,

    /// <summary>Durable in the WAL but the database is unavailable: the background applier will apply it (HTTP 503).</summary>
    Pending = 3,

    /// <summary>Durable in the WAL, not applied yet (the caller asked for <see cref="AckLevel.Durable"/>): the outcome is
    /// read later by request id (HTTP 202 with a <c>Location</c>).</summary>
    Accepted = 4,
}
