using Microsoft.Data.Sqlite;
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
    /// <exception cref="ArgumentException">A dtoType differs only in case from an existing or another new one.</exception>
    private SqliteTable[] ResolveTables(SqliteConnection connection, List<string> dtoTypes)
    {
        var tables = new SqliteTable[dtoTypes.Count];
        List<string>? missing = null;
        for (var i = 0; i < dtoTypes.Count; i++)
        {
            var dtoType = dtoTypes[i];
            if (_tables.TryGetValue(dtoType, out var table))
            {
                tables[i] = table;
                continue;
            }

            if (missing?.Contains(dtoType, StringComparer.Ordinal) == true)
            {
                continue;
            }

            var pending = missing?.Find(m => string.Equals(m, dtoType, StringComparison.OrdinalIgnoreCase));
            if (pending is not null)
            {
                throw CaseCollision(dtoType, pending);
            }

            var existing = FindTableName(connection, dtoType);
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
                throw CaseCollision(dtoType, existing);
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
            tables[i] ??= _tables[dtoTypes[i]];
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

    private static ArgumentException CaseCollision(string dtoType, string existing) => new(
        $"dtoType '{dtoType}' differs only in case from '{existing}'; SQLite table names are case-insensitive, so it is refused.");
}
