using Microsoft.Data.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>One entity table (one dtoType) and its prepared commands, reused for every batch.</summary>
/// <remarks>Schema: <c>id TEXT PRIMARY KEY, document TEXT (NULL for a tombstone), _nv_lsn, _nv_replay_key, _nv_wal_id,
/// _nv_deleted</c>. Owned by <see cref="SqliteDbWriter"/> and used only under its lock.</remarks>
internal sealed class SqliteTable : IDisposable
{
    private readonly SqliteCommand _select;
    private readonly SqliteParameter _selectId;
    private readonly SqliteCommand _upsert;
    private readonly SqliteParameter _upsertId;
    private readonly SqliteParameter _upsertDocument;
    private readonly SqliteParameter _upsertLsn;
    private readonly SqliteParameter _upsertReplayKey;
    private readonly SqliteParameter _upsertWalId;
    private readonly SqliteParameter _upsertDeleted;
    private readonly SqliteCommand _get;
    private readonly SqliteParameter _getId;

    public SqliteTable(SqliteConnection connection, string dtoType)
    {
        DtoType = dtoType;
        var table = SqliteIdentifiers.QuoteTable(dtoType);

        _select = connection.CreateCommand();
        _select.CommandText = $"SELECT document, _nv_lsn, _nv_deleted FROM {table} WHERE id = $id";
        _selectId = _select.Parameters.Add("$id", SqliteType.Text);

        _upsert = connection.CreateCommand();
        _upsert.CommandText =
            $"INSERT INTO {table} (id, document, _nv_lsn, _nv_replay_key, _nv_wal_id, _nv_deleted) " +
            "VALUES ($id, $document, $lsn, $replayKey, $walId, $deleted) " +
            "ON CONFLICT (id) DO UPDATE SET document = excluded.document, _nv_lsn = excluded._nv_lsn, " +
            "_nv_replay_key = excluded._nv_replay_key, _nv_wal_id = excluded._nv_wal_id, _nv_deleted = excluded._nv_deleted";
        _upsertId = _upsert.Parameters.Add("$id", SqliteType.Text);
        _upsertDocument = _upsert.Parameters.Add("$document", SqliteType.Text);
        _upsertLsn = _upsert.Parameters.Add("$lsn", SqliteType.Integer);
        _upsertReplayKey = _upsert.Parameters.Add("$replayKey", SqliteType.Text);
        _upsertWalId = _upsert.Parameters.Add("$walId", SqliteType.Blob);
        _upsertDeleted = _upsert.Parameters.Add("$deleted", SqliteType.Integer);

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

    /// <summary>Reads the current row (live or tombstone) inside the batch transaction: the before image and the guard LSN.</summary>
    public bool TryRead(SqliteTransaction transaction, string entityId, out string? document, out long lsn, out bool deleted)
    {
        _select.Transaction = transaction;
        _selectId.Value = entityId;
        using var reader = _select.ExecuteReader();
        if (!reader.Read())
        {
            document = null;
            lsn = 0;
            deleted = false;
            return false;
        }

        document = reader.IsDBNull(0) ? null : reader.GetString(0);
        lsn = reader.GetInt64(1);
        deleted = reader.GetInt64(2) != 0;
        return true;
    }

    /// <summary>Writes the live document, or a tombstone keeping the LSN when <paramref name="document"/> is null.</summary>
    public void Write(SqliteTransaction transaction, string entityId, string? document, long lsn, string replayKey, Guid walId)
    {
        _upsert.Transaction = transaction;
        _upsertId.Value = entityId;
        _upsertDocument.Value = (object?)document ?? DBNull.Value;
        _upsertLsn.Value = lsn;
        _upsertReplayKey.Value = replayKey;
        _upsertWalId.Value = walId;
        _upsertDeleted.Value = document is null ? 1L : 0L;
        _upsert.ExecuteNonQuery();
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
