using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

/// <summary>The transactional outbox table <c>_nv_resolutions</c> and the <c>_nv_meta</c> watermark, with prepared commands.</summary>
/// <remarks>Rows are written in the same transaction as the entity write they describe. Owned by
/// <see cref="SqliteDbWriter"/> and used only under its lock.</remarks>
internal sealed class SqliteResolutions : IDisposable
{
    public const string CreateSql = """
        CREATE TABLE IF NOT EXISTS _nv_resolutions (
            lsn INTEGER NOT NULL PRIMARY KEY,
            wal_id BLOB NOT NULL,
            request_id TEXT NOT NULL,
            status INTEGER NOT NULL,
            reject_reason INTEGER NOT NULL,
            before TEXT,
            key_id BLOB
        );
        CREATE INDEX IF NOT EXISTS _nv_resolutions_request_id ON _nv_resolutions (request_id, lsn);
        """;

    private const string Columns = "lsn, wal_id, request_id, status, reject_reason, before";

    private readonly SqliteConnection _connection;
    private readonly SqliteStatement _select;
    private readonly SqliteStatement _insert;
    private readonly SqliteStatement _following;
    private readonly SqliteStatement _setResolvedThrough;

    public SqliteResolutions(SqliteConnection connection)
    {
        _connection = connection;
        _select = new SqliteStatement(connection, $"SELECT {Columns} FROM _nv_resolutions WHERE lsn = ?1");
        _insert = new SqliteStatement(connection, $"INSERT INTO _nv_resolutions ({Columns}, key_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        _following = new SqliteStatement(connection, "SELECT lsn FROM _nv_resolutions WHERE lsn > ?1 ORDER BY lsn");
        _setResolvedThrough = new SqliteStatement(connection, "UPDATE _nv_meta SET value = ?1 WHERE key = 'resolved_through'");
    }

    /// <summary>Reads the committed watermark and the highest stored resolution LSN.</summary>
    public (long ResolvedThrough, long MaxLsn) LoadState()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT (SELECT value FROM _nv_meta WHERE key = 'resolved_through'), (SELECT max(lsn) FROM _nv_resolutions)";
        using var reader = command.ExecuteReader();
        reader.Read();
        var resolvedThrough = reader.GetInt64(0);
        var maxLsn = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
        return (resolvedThrough, Math.Max(resolvedThrough, maxLsn));
    }

    /// <summary>The stored outcome of <paramref name="lsn"/>, read inside the batch transaction.</summary>
    public RecordResolution? Find(long lsn)
    {
        try
        {
            _select.Bind(1, lsn);
            if (!_select.Step())
            {
                return null;
            }

            return new RecordResolution
            {
                Lsn = new Lsn(_select.GetInt64(0)),
                WalId = _select.GetGuid(1),
                RequestId = _select.GetString(2),
                Status = (ApplyStatus)_select.GetInt64(3),
                RejectReason = (RejectReason)_select.GetInt64(4),
                Before = SqliteJson.ParseOrNull(_select.GetUtf8(5)),
            };
        }
        finally
        {
            _select.Reset();
        }
    }

    /// <summary>Stores a record's outcome; <paramref name="keyId"/> names the data key its subject's data is sealed with, so
    /// an erasure of the subject forgets the before image too (schema version 3).</summary>
    public void Insert(long lsn, Guid walId, string requestId, ApplyStatus status, RejectReason reason, byte[]? before, Guid? keyId = null)
    {
        _insert.Bind(1, lsn);
        _insert.Bind(2, walId);
        _insert.Bind(3, requestId);
        _insert.Bind(4, (long)status);
        _insert.Bind(5, (long)reason);
        _insert.BindText(6, before);
        if (keyId is { } id)
        {
            _insert.Bind(7, id);
        }
        else
        {
            _insert.BindNull(7);
        }

        _insert.Execute();
    }

    /// <summary>Advances the watermark over the contiguous run of resolutions after it and stores it; returns the new value.</summary>
    /// <remarks>Stops at the first gap, so a resolution written out of order (beyond a gap) is counted once the gap fills.</remarks>
    public long Advance(long resolvedThrough)
    {
        var next = resolvedThrough;
        try
        {
            _following.Bind(1, resolvedThrough);
            while (_following.Step() && _following.GetInt64(0) == next + 1)
            {
                next++;
            }
        }
        finally
        {
            _following.Reset();
        }

        if (next != resolvedThrough)
        {
            _setResolvedThrough.Bind(1, next);
            _setResolvedThrough.Execute();
        }

        return next;
    }

    public static RecordResolution ReadRow(SqliteDataReader reader) => new()
    {
        Lsn = new Lsn(reader.GetInt64(0)),
        WalId = SqliteJson.ReadGuid(reader, 1),
        RequestId = reader.GetString(2),
        Status = (ApplyStatus)reader.GetInt64(3),
        RejectReason = (RejectReason)reader.GetInt64(4),
        Before = SqliteJson.ParseOrNull(reader.IsDBNull(5) ? null : reader.GetString(5)),
    };

    public static string SelectSql(string where) => $"SELECT {Columns} FROM _nv_resolutions WHERE {where}";

    public void Dispose()
    {
        _select.Dispose();
        _insert.Dispose();
        _following.Dispose();
        _setResolvedThrough.Dispose();
    }
}
