using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>The read-only open (<see cref="DbWriterOptions.ReadOnly"/>): an existing file at this build's schema version,
/// opened so that SQLite creates nothing beside it (<see cref="SqliteReadOnly"/>), or, beside a host
/// (<see cref="DbWriterOptions.ReadOnlyBesideHost"/>), through its <c>-wal</c> and <c>-shm</c> files.</summary>
internal sealed partial class SqliteDbWriter
{
    private SqliteConnection OpenReadOnly()
    {
        if (!File.Exists(Path))
        {
            throw new DbWriterException($"No database at {Path}: a read-only open creates nothing.", DbErrorClass.Unwritable);
        }

        var connection = new SqliteConnection(SqliteReadOnly.ConnectionString(Path, _options.SqliteBusyTimeout, _options.ReadOnlyBesideHost));
        try
        {
            connection.Open();
            return connection;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw SqliteErrors.Wrap(ex, "read-only open of " + Path);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // Reads the schema version without creating or migrating anything: a read-only open reads this build's version only
    // (StoreSchemaException otherwise: the CLI's bad-input exit, the store as it was).
    private static void CheckSchemaReadOnly(SqliteConnection connection, string path)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM _nv_meta WHERE key = 'schema_version'";
        long version;
        try
        {
            version = command.ExecuteScalar() is long stored ? stored : -1;
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read-only open of " + path);
        }

        if (version != SchemaVersion)
        {
            throw new StoreSchemaException("database", path, version, SchemaVersion);
        }
    }
}
