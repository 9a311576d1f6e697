using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

internal sealed partial class SqliteDbWriter
{
    /// <summary>The dtoType of every entity change in the batch, in order (a batch record contributes one per item);
    /// <paramref name="firstIndex"/>[i] receives the position of record i's first one.</summary>
    private static List<string> DtoTypesOf(IReadOnlyList<WalRecord> batch, int[] firstIndex)
    {
        var dtoTypes = new List<string>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            firstIndex[i] = dtoTypes.Count;
            if (batch[i].Operation is WalOperation.AuditEvent or WalOperation.Erase)
            {
                continue; // no entity, no table (an erasure touches only tables that exist, ApplyErase)
            }

            if (batch[i].Items is { } items)
            {
                foreach (var item in items)
                {
                    dtoTypes.Add(item.DtoType);
                }
            }
            else
            {
                dtoTypes.Add(batch[i].DtoType);
            }
        }

        return dtoTypes;
    }

    /// <summary>Maps each dtoType to its table, creating missing tables first (outside the batch transaction: an empty
    /// table is schema, not data, and the table cache never has to be undone after a rollback).</summary>
    /// <remarks>A dtoType that differs only in case from an existing table, or from another new one met earlier in LSN
    /// order, has no table (null): SQLite's table names are case-insensitive. The pipeline refuses such a write before the
    /// WAL (<see cref="CheckDtoType"/>), but two new spellings can race there, and a WAL written before that check may
    /// hold one: the record is rejected as unstorable (ApplyOne, ApplyBatch), the same way at every replay, since the
    /// first spelling in LSN order always owns the table.</remarks>
    private SqliteTable?[] ResolveTables(SqliteConnection connection, List<string> dtoTypes)
    {
        var tables = new SqliteTable?[dtoTypes.Count];
        List<string>? missing = null;
        HashSet<string>? collided = null;
        for (var i = 0; i < dtoTypes.Count; i++)
        {
            var dtoType = dtoTypes[i];
            if (_tables.TryGetValue(dtoType, out var table))
            {
                tables[i] = table;
                continue;
            }

            if (missing?.Contains(dtoType, StringComparer.Ordinal) == true || collided?.Contains(dtoType) == true)
            {
                continue;
            }

            var existing = missing?.Find(m => string.Equals(m, dtoType, StringComparison.OrdinalIgnoreCase)) ?? FindTableName(connection, dtoType);
            if (existing is null)
            {
                (missing ??= []).Add(dtoType);
            }
            else if (string.Equals(existing, dtoType, StringComparison.Ordinal))
            {
                tables[i] = _tables[dtoType] = new SqliteTable(connection, dtoType);
            }
            else
            {
                (collided ??= new HashSet<string>(StringComparer.Ordinal)).Add(dtoType);
            }
        }

        if (missing is null)
        {
            return tables;
        }

        foreach (var dtoType in missing)
        {
            using (var command = connection.CreateCommand())
            {
                command.CommandText = SqliteTable.CreateSql(dtoType);
                command.ExecuteNonQuery();
            }

            _tables[dtoType] = new SqliteTable(connection, dtoType);
            _logger.TableCreated(SqliteIdentifiers.QuoteTable(dtoType), dtoType);
        }

        for (var i = 0; i < dtoTypes.Count; i++)
        {
            tables[i] ??= _tables.GetValueOrDefault(dtoTypes[i]);
        }

        return tables;
    }

    /// <summary>The cached table of a dtoType, or null when no such table exists (reads never create tables).</summary>
    private SqliteTable? FindTable(SqliteConnection connection, string dtoType)
    {
        if (_tables.TryGetValue(dtoType, out var table))
        {
            return table;
        }

        var existing = FindTableName(connection, dtoType);
        if (existing is null || !string.Equals(existing, dtoType, StringComparison.Ordinal))
        {
            return null;
        }

        return _tables[dtoType] = new SqliteTable(connection, dtoType);
    }

    /// <summary>The stored spelling of the table SQLite would use for <paramref name="dtoType"/> (names are case-insensitive).</summary>
    private static string? FindTableName(SqliteConnection connection, string dtoType)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = $name COLLATE NOCASE";
        command.Parameters.AddWithValue("$name", dtoType);
        return command.ExecuteScalar() as string;
    }

    /// <summary>Every entity table (all tables except Nv's own and SQLite's).</summary>
    private static List<string> ListEntityTables(SqliteConnection connection, SqliteTransaction transaction)
    {
        var names = new List<string>();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table'";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var name = reader.GetString(0);
            if (SqliteIdentifiers.IsValidDtoType(name))
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>Refuses, before the WAL, a dtoType that differs only in case from an existing table (SQLite's table names
    /// are case-insensitive). Reads the schema on a reader connection; spellings found to be a table's own are remembered.
    /// A store that cannot be read answers null here: the apply decides. Before the store is opened (a tool's check before
    /// it starts the host, <c>nv erase</c>) the file is only read, never created or changed (<see cref="OpenToPeek"/>).</summary>
    public DbWriterRefusal? CheckDtoType(string dtoType)
    {
        if (_storedDtoTypes.ContainsKey(dtoType))
        {
            return null;
        }

        string? existing;
        try
        {
            using var connection = Volatile.Read(ref _readConnectionString) is null && !_disposed ? OpenToPeek() : OpenReader();
            if (connection is null)
            {
                return null; // no database file: no type is stored
            }

            existing = FindTableName(connection, dtoType);
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException or ObjectDisposedException)
        {
            return null;
        }

        if (existing is null)
        {
            return null; // a new type (not remembered: another spelling may still create the table first)
        }

        if (string.Equals(existing, dtoType, StringComparison.Ordinal))
        {
            _storedDtoTypes.TryAdd(dtoType, 0);
            return null;
        }

        return new DbWriterRefusal(string.Empty, CaseCollision(dtoType, existing), IsTooLarge: false);
    }

    /// <summary>A read-only connection to the database file for a check before the store is opened, or null when there is
    /// no file. It creates and changes no file (<see cref="SqliteReadOnly"/>: immutable without a <c>-wal</c> file, all
    /// commits being in the database then; through it, read-only, with one).</summary>
    private SqliteConnection? OpenToPeek()
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        var connection = new SqliteConnection(SqliteReadOnly.ConnectionString(Path, _options.SqliteBusyTimeout));
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Why a record of a dtoType without a table (see <see cref="ResolveTables"/>) is rejected.</summary>
    private static string CaseCollision(SqliteConnection connection, string dtoType) =>
        CaseCollision(dtoType, FindTableName(connection, dtoType) ?? "another spelling");

    private static string CaseCollision(string dtoType, string existing) =>
        $"dtoType '{dtoType}' differs only in case from the stored type '{existing}'; SQLite table names are case-insensitive, so it cannot be stored.";
}
