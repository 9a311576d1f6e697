using Microsoft.Data.Sqlite;

namespace Nv.Shared.Sqlite;

/// <summary>Read-only connections that create nothing beside the database (the stores' read-only opens, for the operator's
/// inspection commands). One source file compiled into both Nv.DbWriter and Nv.Audit.</summary>
internal static class SqliteReadOnly
{
    /// <summary>A read-only, unpooled connection string for <paramref name="path"/>.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="busyTimeout">How long a statement waits for a lock.</param>
    /// <param name="besideWriters">A writer may open the file while this reads it (the reader holds no lock that keeps the
    /// writers out): never immutable.</param>
    /// <remarks>Without a <c>-wal</c> (or rollback journal) file beside it the file is opened immutable: no process has it
    /// open (a writer in WAL mode keeps its <c>-wal</c> file while open), and only so does SQLite create no <c>-wal</c> and
    /// <c>-shm</c> file for a reader. That holds only while no writer can start: an immutable reader takes no lock and
    /// trusts the file not to change, so a page a writer's checkpoint rewrites meanwhile would read torn. Otherwise (with
    /// <paramref name="besideWriters"/>, or a <c>-wal</c> file present) the reader goes through the <c>-wal</c> and
    /// <c>-shm</c> files, as it must to see the commits the <c>-wal</c> file holds: SQLite may then update the
    /// shared-memory index <c>-shm</c>, and create the empty <c>-wal</c> and <c>-shm</c> files of a database closed
    /// cleanly; neither holds data.</remarks>
    public static string ConnectionString(string path, TimeSpan busyTimeout, bool besideWriters = false)
    {
        var quiescent = !besideWriters && !File.Exists(path + "-wal") && !File.Exists(path + "-journal");
        return new SqliteConnectionStringBuilder
        {
            DataSource = quiescent ? new Uri(path).AbsoluteUri + "?immutable=1" : path,
            Mode = SqliteOpenMode.ReadOnly,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        }.ToString();
    }
}
