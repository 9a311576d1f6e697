namespace Nv.Wal;

/// <summary>The kind of mutation a WAL record carries.</summary>
public enum WalOperation
{
    /// <summary>Create a new entity; rejected if a live entity with the same id exists.</summary>
    Create = 1,

    /// <summary>Replace the state of an existing entity with the payload; rejected if none exists.</summary>
    Update = 2,

    /// <summary>Delete an existing entity (a tombstone keeps its LSN); rejected if none exists.</summary>
    Delete = 3,

    /// <summary>An atomic batch: the record carries an ordered list of create/update/delete items
    /// (<see cref="WalRecord.Items"/>) under one LSN and one request id, applied all-or-nothing.</summary>
    Batch = 4,
}
