using Microsoft.Data.Sqlite;
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
            before TEXT
        );
        CREATE INDEX IF NOT EXISTS _nv_resolutions_request_id ON _nv_resolutions (request_id, lsn);
        """;

    private const string Columns = "lsn, wal_id, request_id, status, reject_reason, before";

    private readonly SqliteCommand _select;
    private readonly SqliteParameter _selectLsn;
    private readonly SqliteCommand _insert;
    private readonly SqliteParameter _insertLsn;
    private readonly SqliteParameter _insertWalId;
    private readonly SqliteParameter _insertRequestId;
    private readonly SqliteParameter _insertStatus;
    private readonly SqliteParameter _insertRejectReason;
    private readonly SqliteParameter _insertBefore;
    private readonly SqliteCommand _following;
    private readonly SqliteParameter _followingAfter;
    private readonly SqliteCommand _setResolvedThrough;
    private readonly SqliteParameter _setResolvedThroughValue;

    public SqliteResolutions(SqliteConnection connection)
    {
        _select = connection.CreateCommand();
        _select.CommandText = $"SELECT {Columns} FROM _nv_resolutions WHERE lsn = $lsn";
        _selectLsn = _select.Parameters.Add("$lsn", SqliteType.Integer);

        _insert = connection.CreateCommand();
        _insert.CommandText = $"INSERT INTO _nv_resolutions ({Columns}) VALUES ($lsn, $walId, $requestId, $status, $rejectReason, $before)";
        _insertLsn = _insert.Parameters.Add("$lsn", SqliteType.Integer);
        _insertWalId = _insert.Parameters.Add("$walId", SqliteType.Blob);
        _insertRequestId = _insert.Parameters.Add("$requestId", SqliteType.Text);
        _insertStatus = _insert.Parameters.Add("$status", SqliteType.Integer);
        _insertRejectReason = _insert.Parameters.Add("$rejectReason", SqliteType.Integer);
        _insertBefore = _insert.Parameters.Add("$before", SqliteType.Text);

        _following = connection.CreateCommand();
        _following.CommandText = "SELECT lsn FROM _nv_resolutions WHERE lsn > $after ORDER BY lsn";
        _followingAfter = _following.Parameters.Add("$after", SqliteType.Integer);

        _setResolvedThrough = connection.CreateCommand();
        _setResolvedThrough.CommandText = "UPDATE _nv_meta SET value = $value WHERE key = 'resolved_through'";
        _setResolvedThroughValue = _setResolvedThrough.Parameters.Add("$value", SqliteType.Integer);
    }

    /// <summary>Reads the committed watermark and the highest stored resolution LSN.</summary>
    public (long ResolvedThrough, long MaxLsn) LoadState()
    {
        var connection = _select.Connection!;
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT value FROM _nv_meta WHERE key = 'resolved_through'), (SELECT max(lsn) FROM _nv_resolutions)";
        using var reader = command.ExecuteReader();
        reader.Read();
        var resolvedThrough = reader.GetInt64(0);
        var maxLsn = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
        return (resolvedThrough, Math.Max(resolvedThrough, maxLsn));
    }

    public RecordResolution? Find(SqliteTransaction? transaction, long lsn)
    {
        _select.Transaction = transaction;
        _selectLsn.Value = lsn;
        using var reader = _select.ExecuteReader();
        return reader.Read() ? ReadRow(reader) : null;
    }

    public void Insert(SqliteTransaction transaction, long lsn, Guid walId, string requestId, ApplyStatus status, RejectReason reason,
        string? before)
    {
        _insert.Transaction = transaction;
        _insertLsn.Value = lsn;
        _insertWalId.Value = walId;
        _insertRequestId.Value = requestId;
        _insertStatus.Value = (long)status;
        _insertRejectReason.Value = (long)reason;
        _insertBefore.Value = (object?)before ?? DBNull.Value;
        _insert.ExecuteNonQuery();
    }

    /// <summary>Advances the watermark over the contiguous run of resolutions after it and stores it; returns the new value.</summary>
    /// <remarks>Stops at the first gap, so a resolution written out of order (beyond a gap) is counted once the gap fills.</remarks>
    public long Advance(SqliteTransaction transaction, long resolvedThrough)
    {
        var next = resolvedThrough;
        _following.Transaction = transaction;
        _followingAfter.Value = resolvedThrough;
        using (var reader = _following.ExecuteReader())
        {
            while (reader.Read() && reader.GetInt64(0) == next + 1)
            {
                next++;
            }
        }

        if (next != resolvedThrough)
        {
            _setResolvedThrough.Transaction = transaction;
            _setResolvedThroughValue.Value = next;
            _setResolvedThrough.ExecuteNonQuery();
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
