namespace Nv.Host.Pipeline;

/// <summary>What became of one item of a batch.</summary>
public enum BatchItemStatus
{
    /// <summary>Written; the entity's new version (ETag) is the batch's LSN.</summary>
    Applied = 1,

    /// <summary>This item's rule failed (conflict, not found, precondition) and rejected the whole batch.</summary>
    Rejected = 2,

    /// <summary>Not written because another item rejected the batch.</summary>
    NotApplied = 3,

    /// <summary>Durable in the WAL, not applied yet (<see cref="AckLevel.Durable"/>).</summary>
    Accepted = 4,

    /// <summary>Durable in the WAL; the database is unavailable and the batch will be applied in the background.</summary>
    Pending = 5,
}
