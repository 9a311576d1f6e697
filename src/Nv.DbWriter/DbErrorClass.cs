namespace Nv.DbWriter;

/// <summary>What a database failure means for Nv: retry it, or stop the store and call an operator.</summary>
/// <remarks>Only <see cref="Transient"/> is retried. Every other class stops the store that raised it (fail-stop, like
/// the WAL): nothing past the failure is applied or acknowledged until an operator has looked at the store and restarted
/// Nv. The README's "SQLite errors" table lists which result codes fall in which class.</remarks>
public enum DbErrorClass
{
    /// <summary>Lock contention or a passing condition (busy, locked, out of memory, disk full, interrupted): the data on
    /// disk is intact and the same batch is retried with backoff.</summary>
    Transient = 0,

    /// <summary>The file is damaged or is not a database (SQLite <c>CORRUPT</c>, <c>NOTADB</c>): never retried; restore
    /// the store from a backup or rebuild it from the WAL.</summary>
    Corruption = 1,

    /// <summary>The operating system reported an I/O error (SQLite <c>IOERR</c>): after a failed write or fsync the state of
    /// the file is unknown (PostgreSQL PANICs on the same), so the store stops; check the disk, then restart.</summary>
    IoError = 2,

    /// <summary>The store cannot be opened or written at all (SQLite <c>READONLY</c>, <c>PERM</c>, <c>CANTOPEN</c>): a
    /// read-only remount, permissions or a missing directory need an operator.</summary>
    Unwritable = 3,

    /// <summary>A bug or a schema this code does not expect (SQLite <c>ERROR</c>, <c>INTERNAL</c>, <c>MISUSE</c>,
    /// <c>CONSTRAINT</c>, <c>TOOBIG</c>, ...): retrying would fail the same way.</summary>
    Internal = 4,
}
