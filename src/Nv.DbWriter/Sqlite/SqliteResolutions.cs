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
        CREATE TABLE IF NOT EXISTS _nv_batch_resolutions (
            lsn INTEGER NOT NULL PRIMARY KEY,
            failed_item INTEGER,
            items TEXT,
            item_key_ids TEXT
        );
        """;

    // A batch record's resolution is its _nv_resolutions row plus one _nv_batch_resolutions row (written in the same
    // transaction): the failed item of a rejected batch, or each item's outcome and before image (BatchItemsJson). The
    // table is additive (created if missing), so a database made before batches opens unchanged.
    private const string InsertColumns = "lsn, wal_id, request_id, status, reject_reason, before";
    private const string Columns = InsertColumns + ", failed_item, items";
    private const string From = "_nv_resolutions LEFT JOIN _nv_batch_resolutions USING (lsn)";

    private readonly SqliteConnection _connection;
    private readonly SqliteStatement _select;
    private readonly SqliteStatement _insert;
    private readonly SqliteStatement _following;
    private readonly SqliteStatement _setResolvedThrough;
    private readonly SqliteStatement _insertBatch;

    public SqliteResolutions(SqliteConnection connection)
    {
        _connection = connection;
        _select = new SqliteStatement(connection, $"SELECT {Columns} FROM {From} WHERE lsn = ?1");
        _insert = new SqliteStatement(connection, $"INSERT INTO _nv_resolutions ({InsertColumns}, key_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        _following = new SqliteStatement(connection, "SELECT lsn FROM _nv_resolutions WHERE lsn > ?1 ORDER BY lsn");
        _setResolvedThrough = new SqliteStatement(connection, "UPDATE _nv_meta SET value = ?1 WHERE key = 'resolved_through'");
        _insertBatch = new SqliteStatement(connection, "INSERT INTO _nv_batch_resolutions (lsn, failed_item, items, item_key_ids) VALUES (?1, ?2, ?3, ?4)");
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

            var lsnValue = new Lsn(_select.GetInt64(0));
            return new RecordResolution
            {
                Lsn = lsnValue,
                WalId = _select.GetGuid(1),
                RequestId = _select.GetString(2),
                Status = (ApplyStatus)_select.GetInt64(3),
                RejectReason = (RejectReason)_select.GetInt64(4),
                Before = SqliteJson.ParseOrNull(_select.GetUtf8(5)),
                FailedItem = _select.IsNull(6) ? null : checked((int)_select.GetInt64(6)),
                Items = _select.IsNull(7) ? null : BatchItemsJson.Decode(_select.GetBlob(7), lsnValue),
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

    /// <summary>The batch part of a batch record's resolution (same transaction as <see cref="Insert"/>).
    /// <paramref name="itemKeyIds"/>: a JSON array naming each item's data key (null entries for items stored in plain), so
    /// an erasure can forget the before images kept under its keys (schema version 3); null when no item is sealed.</summary>
    public void InsertBatch(long lsn, int? failedItem, byte[]? items, string? itemKeyIds = null)
    {
        if (itemKeyIds is null)
        {
            _insertBatch.BindNull(4);
        }
        else
        {
            _insertBatch.Bind(4, itemKeyIds);
        }

        _insertBatch.Bind(1, lsn);
        if (failedItem is { } failed)
        {
            _insertBatch.Bind(2, failed);
        }
        else
        {
            _insertBatch.BindNull(2);
        }

        _insertBatch.BindText(3, items);
        _insertBatch.Execute();
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

    public static RecordResolution ReadRow(SqliteDataReader reader)
    {
        var lsn = new Lsn(reader.GetInt64(0));
        return new()
        {
            Lsn = lsn,
            WalId = SqliteJson.ReadGuid(reader, 1),
            RequestId = reader.GetString(2),
            Status = (ApplyStatus)reader.GetInt64(3),
            RejectReason = (RejectReason)reader.GetInt64(4),
            Before = SqliteJson.ParseOrNull(reader.IsDBNull(5) ? null : reader.GetString(5)),
            FailedItem = reader.IsDBNull(6) ? null : checked((int)reader.GetInt64(6)),
            Items = reader.IsDBNull(7) ? null : BatchItemsJson.Decode(System.Text.Encoding.UTF8.GetBytes(reader.GetString(7)), lsn),
        };
    }

    /// <summary>A query over resolutions joined with their batch part; <paramref name="where"/> may name every column of
    /// <c>_nv_resolutions</c> unqualified (the join is <c>USING (lsn)</c>).</summary>
    public static string SelectSql(string where) => $"SELECT {Columns} FROM {From} WHERE {where}";

    public void Dispose()
    {
        _select.Dispose();
        _insert.Dispose();
        _following.Dispose();
        _setResolvedThrough.Dispose();
        _insertBatch.Dispose();
    }
}
