using Microsoft.Data.Sqlite;

namespace Nv.Smoke.Tests.Verify;

/// <summary>What a stopped host left in its SQLite files, read with plain SQL (no Nv code): the stored outcome of every
/// WAL record still in the retention window, every audit entry, and every entity row.</summary>
internal sealed class StoreSnapshot
{
    public Dictionary<long, (string RequestId, int Status, int RejectReason)> Resolutions { get; } = [];

    public long ResolvedThrough { get; private set; }

    public List<AuditRow> Audit { get; } = [];

    /// <summary>(dtoType, entityId) → (document text or null for a tombstone, lsn, deleted).</summary>
    public Dictionary<(string DtoType, string EntityId), (string? Document, long Lsn, bool Deleted)> Entities { get; } = [];

    public static StoreSnapshot Read(string dataDir, IEnumerable<string> dtoTypes)
    {
        var snapshot = new StoreSnapshot();
        using (var db = Open(Path.Combine(dataDir, "nv.db")))
        {
            foreach (var row in Query(db, "SELECT lsn, request_id, status, reject_reason FROM _nv_resolutions"))
            {
                snapshot.Resolutions[(long)row[0]!] = ((string)row[1]!, (int)(long)row[2]!, (int)(long)row[3]!);
            }

            snapshot.ResolvedThrough = (long)Query(db, "SELECT value FROM _nv_meta WHERE key = 'resolved_through'").Single()[0]!;
            var tables = Query(db, "SELECT name FROM sqlite_master WHERE type = 'table'").Select(r => (string)r[0]!).ToHashSet(StringComparer.Ordinal);
            foreach (var dtoType in dtoTypes.Where(tables.Contains))
            {
                foreach (var row in Query(db, $"SELECT id, document, _nv_lsn, _nv_deleted FROM \"{dtoType}\""))
                {
                    snapshot.Entities[(dtoType, (string)row[0]!)] = ((string?)row[1], (long)row[2]!, (long)row[3]! != 0);
                }
            }
        }

        using (var audit = Open(Path.Combine(dataDir, "audit.db")))
        {
            foreach (var row in Query(audit,
                "SELECT id, timestamp, service, category, operation, user_id, dto_type, entity_id, before_json, after_json, changes_json, "
                + "reason, metadata_json, request_id, lsn, sequence, wal_record_hash FROM audit_entries ORDER BY service, sequence"))
            {
                snapshot.Audit.Add(new AuditRow(
                    (string)row[0]!, (string)row[1]!, (string)row[2]!, (string)row[3]!, (string)row[4]!, (string?)row[5], (string?)row[6],
                    (string)row[7]!, Lz4Block.Text(row[8]), Lz4Block.Text(row[9]), Lz4Block.Text(row[10])!, (string?)row[11], Lz4Block.Text(row[12])!,
                    (string)row[13]!, (long?)row[14], (long)row[15]!, (string?)row[16]));
            }
        }

        return snapshot;
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static List<object?[]> Query(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }
}
