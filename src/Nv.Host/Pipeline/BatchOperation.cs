namespace Nv.Host.Pipeline;

/// <summary>What one item of a batch does.</summary>
public enum BatchOperation
{
    /// <summary>Create an entity; the batch is rejected if it already exists.</summary>
    Create = 1,

    /// <summary>Replace an existing entity's state; the batch is rejected if it does not exist.</summary>
    Update = 2,

    /// <summary>JSON merge patch (RFC 7396) of an existing entity: Nv reads the current state, merges, and writes an update
    /// guarded by the version it read, so a concurrent change rejects the batch instead of being lost.</summary>
    Patch = 3,

    /// <summary>Delete an existing entity; the batch is rejected if it does not exist.</summary>
    Delete = 4,
}
