namespace Nv.DbWriter;

/// <summary>What applying one WAL record to the database came to.</summary>
public enum ApplyStatus
{
    /// <summary>Written now, in a committed transaction; before and after images are set.</summary>
    Applied = 1,

    /// <summary>The database already reflected this record (a replay); before/after come from the stored resolution.</summary>
    AlreadyApplied = 2,

    /// <summary>Deterministically refused (conflict); replay will never retry it.</summary>
    Rejected = 3,

    /// <summary>The database could not be reached or failed transiently; the record stays unresolved and is retried.</summary>
    Transient = 4,
}
