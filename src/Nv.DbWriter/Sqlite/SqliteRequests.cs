using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

/// <summary>The idempotency table <c>_nv_requests</c> (schema version 2; version 5 adds a rejected batch's failed item and
/// an audit event's record id): one row per request id and caller, with the request's fingerprint and outcome, written in
/// the same transaction as the request's record is applied.</summary>
/// <remarks>
/// Keyed by the record's LSN (the rowid: cheap appends in LSN order) with a unique index on (request_id, scope), so the
/// first record of a request wins and a second record of the same request, if any, never replaces its outcome. Rows
/// live independently of WAL truncation and of the resolution purge: they are deleted only by
/// <see cref="PurgeSql"/> once older than the retention window (<c>created_at</c> is the record's timestamp, so a
/// replay after a crash stores the same value). A null <c>scope</c> marks a row migrated from a store written before
/// request ids were scoped (schema version 1): it matches every caller, and its fingerprint and target are unknown.
/// Owned by <see cref="SqliteDbWriter"/>; the insert runs under its lock, inside the batch transaction.
/// </remarks>
internal sealed class SqliteRequests : IDisposable
{
    public const string CreateSql = """
        CREATE TABLE IF NOT EXISTS _nv_requests (
            lsn INTEGER NOT NULL PRIMARY KEY,
            scope TEXT,
            request_id TEXT NOT NULL,
            fingerprint BLOB,
            operation INTEGER,
            dto_type TEXT,
            entity_id TEXT,
            status INTEGER NOT NULL,
            reject_reason INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            failed_item INTEGER,
            record_id BLOB
        );
        CREATE UNIQUE INDEX IF NOT EXISTS _nv_requests_key ON _nv_requests (request_id, scope);
        CREATE INDEX IF NOT EXISTS _nv_requests_created_at ON _nv_requests (created_at);
        """;

    /// <summary>Version 1 → 2: the table, plus one unscoped row per stored resolution, so a retry of a request made before
    /// the upgrade is still recognised for one retention window (counted from the migration).</summary>
    public const string MigrateFromVersion1Sql = """
        INSERT OR IGNORE INTO _nv_requests (lsn, scope, request_id, fingerprint, operation, dto_type, entity_id, status, reject_reason, created_at)
        SELECT lsn, NULL, request_id, NULL, NULL, NULL, NULL, status, reject_reason, $now FROM _nv_resolutions ORDER BY lsn;
        """;

    /// <summary>Version 3 → 4: one unscoped outcome per stored batch resolution whose request id has none (version 3 wrote
    /// none for batch records, so a batch retried after a restart was applied again), kept for one retention window.</summary>
    public static readonly string MigrateFromVersion3Sql = $"""
        INSERT OR IGNORE INTO _nv_requests (lsn, scope, request_id, fingerprint, operation, dto_type, entity_id, status, reject_reason, created_at)
        SELECT r.lsn, NULL, r.request_id, NULL, {(int)WalOperation.Batch}, '', '', r.status, r.reject_reason, $now
        FROM _nv_resolutions r JOIN _nv_batch_resolutions b ON b.lsn = r.lsn
        WHERE NOT EXISTS (SELECT 1 FROM _nv_requests q WHERE q.request_id = r.request_id)
        ORDER BY r.lsn;
        """;

    /// <summary>Version 4 → 5: the two answers an outcome could only complete from the record's resolution (purged with the
    /// WAL), kept in the outcome itself: a rejected batch's failed item and an audit event's record id, carried over from
    /// the resolutions still stored (NULL where none is: unknown, as before).</summary>
    public static readonly string MigrateFromVersion4Sql = $"""
        UPDATE _nv_requests SET failed_item = (SELECT b.failed_item FROM _nv_batch_resolutions b WHERE b.lsn = _nv_requests.lsn)
        WHERE operation = {(int)WalOperation.Batch} AND status = {(int)ApplyStatus.Rejected};
        UPDATE _nv_requests SET record_id = (SELECT r.wal_id FROM _nv_resolutions r WHERE r.lsn = _nv_requests.lsn)
        WHERE operation = {(int)WalOperation.AuditEvent};
        """;

    /// <summary>The columns version 5 adds (checked one by one: a store migrated from version 1 gets the table whole).</summary>
    public static readonly (string Name, string Type)[] Version5Columns = [("failed_item", "INTEGER"), ("record_id", "BLOB")];

    public const string Columns = "lsn, scope, request_id, fingerprint, operation, dto_type, entity_id, status, reject_reason, created_at, failed_item, record_id";

    /// <summary>Deletes up to <c>$limit</c> rows older than <c>$cutoff</c> (unix milliseconds), oldest first.</summary>
    public const string PurgeSql =
        "DELETE FROM _nv_requests WHERE lsn IN (SELECT lsn FROM _nv_requests WHERE created_at < $cutoff ORDER BY created_at LIMIT $limit)";

    private const int FingerprintBytes = 32;

    private readonly SqliteStatement _insert;

    public SqliteRequests(SqliteConnection connection)
    {
        _insert = new SqliteStatement(connection, $"INSERT OR IGNORE INTO _nv_requests ({Columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    }

    /// <summary>Told of every request id inserted, before the insert's transaction commits.</summary>
    public SqliteRequestIdFilter? Filter { get; set; }

    /// <summary>Records the outcome of <paramref name="record"/>'s request unless the request already has one.</summary>
    /// <param name="record">The request's record; an audit event's id is kept as its record id.</param>
    /// <param name="status">Its outcome.</param>
    /// <param name="reason">Why it was rejected, if it was.</param>
    /// <param name="failedItem">A rejected batch's first rejected item.</param>
    public void Insert(WalRecord record, ApplyStatus status, RejectReason reason, int? failedItem = null)
    {
        var key = RequestKey.Of(record);
        Filter?.Add(key.RequestId);
        _insert.Bind(1, record.Lsn.Value);
        _insert.Bind(2, key.Scope);
        _insert.Bind(3, key.RequestId);
        if (record.Fingerprint is { } fingerprint)
        {
            Span<byte> bytes = stackalloc byte[FingerprintBytes];
            if (fingerprint.Length != FingerprintBytes * 2
                || Convert.FromHexString(fingerprint, bytes, out _, out var written) != System.Buffers.OperationStatus.Done
                || written != FingerprintBytes)
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} has a malformed fingerprint.", nameof(record));
            }

            _insert.BindBlob(4, bytes);
        }
        else
        {
            _insert.BindNull(4);
        }

        _insert.Bind(5, (long)record.Operation);
        _insert.Bind(6, record.DtoType);
        _insert.Bind(7, record.EntityId);
        _insert.Bind(8, (long)status);
        _insert.Bind(9, (long)reason);
        _insert.Bind(10, record.Timestamp.ToUnixTimeMilliseconds());
        if (RequestOutcomeFields.FailedItemOf(status, failedItem) is { } item)
        {
            _insert.Bind(11, item);
        }
        else
        {
            _insert.BindNull(11);
        }

        if (RequestOutcomeFields.RecordIdOf(record) is { } recordId)
        {
            _insert.Bind(12, recordId);
        }
        else
        {
            _insert.BindNull(12);
        }

        _insert.Execute();
    }

    public static string SelectSql(string where) => $"SELECT {Columns} FROM _nv_requests WHERE {where}";

    /// <summary>Reads one row, refusing values no writer of this table produces (a damaged or hand-edited store).</summary>
    /// <exception cref="DbWriterException">The row is damaged (class <see cref="DbErrorClass.Corruption"/>).</exception>
    public static RequestOutcome ReadRow(SqliteDataReader reader)
    {
        var lsn = reader.IsDBNull(0) ? 0 : reader.GetInt64(0);
        try
        {
            return ReadRow(reader, lsn);
        }
        catch (Exception ex) when (ex is InvalidCastException or ArgumentOutOfRangeException or FormatException or OverflowException)
        {
            throw Damaged(lsn, "a value of the wrong type or range (" + ex.Message + ")");
        }
    }

    private static RequestOutcome ReadRow(SqliteDataReader reader, long lsn)
    {
        string? fingerprint = null;
        if (!reader.IsDBNull(3))
        {
            var bytes = (byte[])reader.GetValue(3);
            fingerprint = bytes.Length == FingerprintBytes ? Convert.ToHexStringLower(bytes) : throw Damaged(lsn, "a fingerprint that is not 32 bytes");
        }

        var status = (ApplyStatus)reader.GetInt64(7);
        if (status is not (ApplyStatus.Applied or ApplyStatus.AlreadyApplied or ApplyStatus.Rejected))
        {
            throw Damaged(lsn, $"status {(long)status}");
        }

        var reason = (RejectReason)reader.GetInt64(8);
        if (!Enum.IsDefined(reason))
        {
            throw Damaged(lsn, $"reject reason {(long)reason}");
        }

        WalOperation? operation = reader.IsDBNull(4) ? null : (WalOperation)reader.GetInt64(4);
        if (operation is { } op && !Enum.IsDefined(op))
        {
            throw Damaged(lsn, $"operation {(long)op}");
        }

        int? failedItem = reader.IsDBNull(10) ? null : checked((int)reader.GetInt64(10));
        if (RequestOutcomeFields.FailedItemProblem(operation, status, failedItem) is { } problem)
        {
            throw Damaged(lsn, problem);
        }

        Guid? recordId = null;
        if (!reader.IsDBNull(11))
        {
            var bytes = (byte[])reader.GetValue(11);
            recordId = bytes.Length == 16 && RequestOutcomeFields.MayHoldRecordId(operation)
                ? new Guid(bytes)
                : throw Damaged(lsn, "a record id that is not the 16 bytes of an audit event's id");
        }

        return new RequestOutcome
        {
            Lsn = lsn > 0 ? new Lsn(lsn) : throw Damaged(lsn, "a non-positive LSN"),
            Scope = reader.IsDBNull(1) ? null : reader.GetString(1),
            RequestId = reader.GetString(2),
            Fingerprint = fingerprint,
            Operation = operation,
            DtoType = reader.IsDBNull(5) ? null : reader.GetString(5),
            EntityId = reader.IsDBNull(6) ? null : reader.GetString(6),
            Status = status,
            RejectReason = reason,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)),
            FailedItem = failedItem,
            RecordId = recordId,
        };
    }

    private static DbWriterException Damaged(long lsn, string what) =>
        new($"The request outcome stored for LSN {lsn} in _nv_requests is damaged: it holds {what}. Restore the store from a backup or rebuild it from the WAL.",
            DbErrorClass.Corruption);

    public void Dispose() => _insert.Dispose();
}
