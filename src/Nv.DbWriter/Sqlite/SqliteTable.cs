using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>One entity table (one dtoType) and its prepared commands, reused for every batch.</summary>
/// <remarks>Schema: <c>id TEXT PRIMARY KEY, document TEXT (NULL for a tombstone), _nv_lsn, _nv_replay_key, _nv_wal_id,
/// _nv_deleted</c>. Owned by <see cref="SqliteDbWriter"/> and used only under its lock.</remarks>
internal sealed class SqliteTable : IDisposable
{
    private readonly SqliteStatement _select;
    private readonly SqliteStatement _upsert;
    private readonly SqliteCommand _get;
    private readonly SqliteParameter _getId;

    public SqliteTable(SqliteConnection connection, string dtoType)
    {
        DtoType = dtoType;
        var table = SqliteIdentifiers.QuoteTable(dtoType);
        _select = new SqliteStatement(connection, $"SELECT document, _nv_lsn, _nv_deleted FROM {table} WHERE id = ?1");
        _upsert = new SqliteStatement(connection,
            $"INSERT INTO {table} (id, document, _nv_lsn, _nv_replay_key, _nv_wal_id, _nv_deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6) " +
            "ON CONFLICT (id) DO UPDATE SET document = excluded.document, _nv_lsn = excluded._nv_lsn, " +
            "_nv_replay_key = excluded._nv_replay_key, _nv_wal_id = excluded._nv_wal_id, _nv_deleted = excluded._nv_deleted");

        _get = connection.CreateCommand();
        _get.CommandText = $"SELECT document, _nv_lsn, _nv_replay_key, _nv_wal_id FROM {table} WHERE id = $id AND _nv_deleted = 0";
        _getId = _get.Parameters.Add("$id", SqliteType.Text);
    }

    public string DtoType { get; }

    public static string CreateSql(string dtoType)
    {
        var table = SqliteIdentifiers.QuoteTable(dtoType);
        // The index name starts with '_' so it can never collide with a table named after a dtoType.
        var tombstones = SqliteIdentifiers.QuoteTable("_nv_tombstones_" + dtoType);
        return $"""
            CREATE TABLE IF NOT EXISTS {table} (
                id TEXT NOT NULL PRIMARY KEY,
                document TEXT,
                _nv_lsn INTEGER NOT NULL,
                _nv_replay_key TEXT NOT NULL,
                _nv_wal_id BLOB NOT NULL,
                _nv_deleted INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX IF NOT EXISTS {tombstones} ON {table} (_nv_lsn) WHERE _nv_deleted = 1;
            """;
    }

    public static string PurgeTombstonesSql(string dtoType) =>
        $"DELETE FROM {SqliteIdentifiers.QuoteTable(dtoType)} WHERE _nv_deleted = 1 AND _nv_lsn <= $upTo";

    /// <summary>Reads the current row (live or tombstone) inside the batch transaction: the before image (UTF-8 JSON)
    /// and the guard LSN.</summary>
    public bool TryRead(string entityId, out byte[]? document, out long lsn, out bool deleted)
    {
        try
        {
            _select.Bind(1, entityId);
            if (!_select.Step())
            {
                document = null;
                lsn = 0;
                deleted = false;
                return false;
            }

            document = _select.GetUtf8(0);
            lsn = _select.GetInt64(1);
            deleted = _select.GetInt64(2) != 0;
            return true;
        }
        finally
        {
            _select.Reset();
        }
    }

    /// <summary>Writes the live document (UTF-8 JSON), or a tombstone keeping the LSN when <paramref name="tombstone"/>.</summary>
    public void Write(string entityId, ReadOnlySpan<byte> document, bool tombstone, long lsn, string replayKey, Guid walId)
    {
        _upsert.Bind(1, entityId);
        _upsert.BindText(2, document, isNull: tombstone);
        _upsert.Bind(3, lsn);
        _upsert.Bind(4, replayKey);
        _upsert.Bind(5, walId);
        _upsert.Bind(6, tombstone ? 1L : 0L);
        _upsert.Execute();
    }

    public StoredEntity? Get(string entityId)
    {
        _get.Transaction = null;
        _getId.Value = entityId;
        using var reader = _get.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new StoredEntity
        {
            DtoType = DtoType,
            EntityId = entityId,
            Document = SqliteJson.Parse(reader.GetString(0)),
            Lsn = new Nv.Wal.Lsn(reader.GetInt64(1)),
            ReplayKey = reader.GetString(2),
            WalId = SqliteJson.ReadGuid(reader, 3),
        };
    }

    public void Dispose()
    {
        _select.Dispose();
        _upsert.Dispose();
        _get.Dispose();
    }
}
