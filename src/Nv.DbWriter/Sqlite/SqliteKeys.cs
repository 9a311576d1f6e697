using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

/// <summary>The key store tables (schema version 3): <c>_nv_keys</c> (wrapped data keys and the subject each seals),
/// <c>_nv_subjects</c> (the subject of an entity when a payload field names it, not the entity itself) and
/// <c>_nv_erasures</c> (one row per erasure, no personal data), with the statements the batch transaction runs.</summary>
/// <remarks>
/// A key is inserted unassigned (<c>subject</c> NULL) and durably, before any WAL record can name it; the record that
/// first names it assigns it in its apply transaction (whatever the record's outcome: its ciphertext is in the WAL
/// either way), and an erase record deletes every key of its subject, the before images kept with their records in
/// <c>_nv_resolutions</c>, the subject's live entities, and records the erasure, in one transaction. With
/// <c>secure_delete</c> on, SQLite overwrites what it deletes. Owned by <see cref="SqliteDbWriter"/>; used under its lock.
/// </remarks>
internal sealed class SqliteKeys : IDisposable
{
    public const string CreateSql = """
        CREATE TABLE IF NOT EXISTS _nv_keys (
            key_id BLOB NOT NULL PRIMARY KEY,
            master_key_id TEXT NOT NULL,
            wrapped BLOB NOT NULL,
            subject TEXT,
            assigned_lsn INTEGER,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS _nv_keys_subject ON _nv_keys (subject) WHERE subject IS NOT NULL;
        CREATE TABLE IF NOT EXISTS _nv_subjects (
            dto_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            PRIMARY KEY (dto_type, entity_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS _nv_subjects_subject ON _nv_subjects (subject);
        CREATE TABLE IF NOT EXISTS _nv_erasures (
            lsn INTEGER NOT NULL PRIMARY KEY,
            subject TEXT NOT NULL,
            wal_id BLOB NOT NULL,
            request_id TEXT NOT NULL,
            erased_at INTEGER NOT NULL,
            keys_destroyed INTEGER NOT NULL,
            entities_deleted INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS _nv_erasures_subject ON _nv_erasures (subject);
        """;

    public const string KeyColumns = "key_id, master_key_id, wrapped, subject, created_at";

    private readonly SqliteConnection _connection;
    private readonly SqliteStatement _assign;
    private readonly SqliteStatement _upsertSubject;
    private readonly SqliteStatement _deleteSubject;
    private readonly SqliteStatement _handOver;

    public SqliteKeys(SqliteConnection connection)
    {
        _connection = connection;
        _assign = new SqliteStatement(connection, "UPDATE _nv_keys SET subject = ?2, assigned_lsn = ?3 WHERE key_id = ?1 AND subject IS NULL");
        _upsertSubject = new SqliteStatement(connection,
            "INSERT INTO _nv_subjects (dto_type, entity_id, subject) VALUES (?1, ?2, ?3) ON CONFLICT (dto_type, entity_id) DO UPDATE SET subject = excluded.subject");
        _deleteSubject = new SqliteStatement(connection, "DELETE FROM _nv_subjects WHERE dto_type = ?1 AND entity_id = ?2");
        _handOver = new SqliteStatement(connection, "UPDATE _nv_keys SET subject = ?2 WHERE subject = ?1");
    }

    /// <summary>Assigns the record's key to its subject (first record wins), and keeps <c>_nv_subjects</c> in step when
    /// the subject is not the entity itself (never for an audit event, which stores no entity). Inside the batch
    /// transaction.</summary>
    public void Assign(WalRecord record, ApplyStatus status)
    {
        if (record.PayloadKeyId is not { } keyId || record.Subject is not { } subject)
        {
            return;
        }

        _assign.Bind(1, keyId);
        _assign.Bind(2, subject);
        _assign.Bind(3, record.Lsn.Value);
        _assign.Execute();
        if (status != ApplyStatus.Applied || record.Operation == WalOperation.AuditEvent)
        {
            return; // an audit event names no entity of this store: no mapping to keep
        }

        if (record.Operation == WalOperation.Delete)
        {
            _deleteSubject.Bind(1, record.DtoType);
            _deleteSubject.Bind(2, record.EntityId);
            _deleteSubject.Execute();
        }
        else if (!EntitySubjects.IsOwn(subject, record.DtoType, record.EntityId))
        {
            // Only an update continues an entity that may predate its type's mapping: a create starts a new one, whose id
            // may have served an entity deleted before the mapping (its keys stay its own: see Map).
            Map(record.DtoType, record.EntityId, subject, handOver: record.Operation == WalOperation.Update);
        }
    }

    /// <summary>Maps an entity to the subject a payload field names in <c>_nv_subjects</c>; with
    /// <paramref name="handOver"/>, the keys its own subject holds (it was written before its type was mapped) go to that
    /// subject too, so that subject's erasure destroys its sealed history (an index probe that finds none once they went).
    /// Inside a transaction.</summary>
    public void Map(string dtoType, string entityId, string subject, bool handOver)
    {
        _upsertSubject.Bind(1, dtoType);
        _upsertSubject.Bind(2, entityId);
        _upsertSubject.Bind(3, subject);
        _upsertSubject.Execute();
        if (handOver)
        {
            _handOver.Bind(1, EntitySubjects.Own(dtoType, entityId));
            _handOver.Bind(2, subject);
            _handOver.Execute();
        }
    }

    /// <summary>Erases a subject inside the batch transaction: destroys its keys, forgets the before images kept under
    /// them, and returns the entities to delete (the subject's own entity first) and how many keys went.</summary>
    public (List<(string DtoType, string EntityId)> Entities, int KeysDestroyed) Erase(SqliteTransaction transaction, string subject, string dtoType, string entityId)
    {
        var keyIds = new List<Guid>();
        using (var command = Command(transaction, "SELECT key_id FROM _nv_keys WHERE subject = $s"))
        {
            command.Parameters.AddWithValue("$s", subject);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                keyIds.Add(reader.GetGuid(0));
            }
        }

        foreach (var chunk in keyIds.Chunk(500))
        {
            using var command = Command(transaction, string.Empty);
            var names = new string[chunk.Length];
            for (var i = 0; i < chunk.Length; i++)
            {
                names[i] = "$k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                command.Parameters.AddWithValue(names[i], chunk[i].ToByteArray());
            }

            // A full scan, rare (one per erasure) and bounded by the resolutions the WAL's retention keeps.
            command.CommandText = $"UPDATE _nv_resolutions SET before = NULL WHERE before IS NOT NULL AND key_id IN ({string.Join(',', names)})";
            command.ExecuteNonQuery();
        }

        if (keyIds.Count > 0)
        {
            ForgetBatchItemBefores(transaction, keyIds);
        }

        using (var command = Command(transaction, "DELETE FROM _nv_keys WHERE subject = $s"))
        {
            command.Parameters.AddWithValue("$s", subject);
            command.ExecuteNonQuery();
        }

        var entities = new List<(string, string)> { (dtoType, entityId) };
        using (var command = Command(transaction, "SELECT dto_type, entity_id FROM _nv_subjects WHERE subject = $s"))
        {
            command.Parameters.AddWithValue("$s", subject);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var entity = (reader.GetString(0), reader.GetString(1));
                if (!entities.Contains(entity))
                {
                    entities.Add(entity);
                }
            }
        }

        using (var command = Command(transaction, "DELETE FROM _nv_subjects WHERE subject = $s"))
        {
            command.Parameters.AddWithValue("$s", subject);
            command.ExecuteNonQuery();
        }

        return (entities, keyIds.Count);
    }

    /// <summary>The JSON array stored with a batch resolution naming each item's data key (null: the item is plain), or
    /// null when no item is sealed.</summary>
    public static string? ItemKeyIdsJson(IReadOnlyList<WalRecord> items) => items.Any(static i => i.PayloadKeyId is not null)
        ? System.Text.Json.JsonSerializer.Serialize(items.Select(static i => i.PayloadKeyId?.ToString("D")))
        : null;

    // Batch resolutions keep one before image per item (BatchItemsJson); those of items sealed under an erased key become
    // null. A scan of the batch rows with sealed items, rare (one per erasure).
    private void ForgetBatchItemBefores(SqliteTransaction transaction, IReadOnlyCollection<Guid> keyIds)
    {
        var erased = keyIds.Select(static k => k.ToString("D")).ToHashSet(StringComparer.Ordinal);
        var rewritten = new List<(long Lsn, string Items)>();
        using (var command = Command(transaction, "SELECT lsn, items, item_key_ids FROM _nv_batch_resolutions WHERE item_key_ids IS NOT NULL AND items IS NOT NULL"))
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var ids = System.Text.Json.JsonSerializer.Deserialize<string?[]>(reader.GetString(2)) ?? [];
                if (!ids.Any(id => id is not null && erased.Contains(id)))
                {
                    continue;
                }

                var items = System.Text.Json.Nodes.JsonNode.Parse(reader.GetString(1))!.AsArray();
                for (var i = 0; i < items.Count && i < ids.Length; i++)
                {
                    if (ids[i] is { } id && erased.Contains(id) && items[i] is System.Text.Json.Nodes.JsonObject)
                    {
                        items[i] = null;
                    }
                }

                rewritten.Add((reader.GetInt64(0), items.ToJsonString()));
            }
        }

        foreach (var (lsn, items) in rewritten)
        {
            using var update = Command(transaction, "UPDATE _nv_batch_resolutions SET items = $items WHERE lsn = $lsn");
            update.Parameters.AddWithValue("$items", items);
            update.Parameters.AddWithValue("$lsn", lsn);
            update.ExecuteNonQuery();
        }
    }

    public void RecordErasure(SqliteTransaction transaction, WalRecord record, int keysDestroyed, int entitiesDeleted)
    {
        using var command = Command(transaction, """
            INSERT OR IGNORE INTO _nv_erasures (lsn, subject, wal_id, request_id, erased_at, keys_destroyed, entities_deleted)
            VALUES ($lsn, $subject, $walId, $requestId, $at, $keys, $entities)
            """);
        command.Parameters.AddWithValue("$lsn", record.Lsn.Value);
        command.Parameters.AddWithValue("$subject", record.Subject);
        command.Parameters.AddWithValue("$walId", record.Id.ToByteArray());
        command.Parameters.AddWithValue("$requestId", record.RequestId);
        command.Parameters.AddWithValue("$at", record.Timestamp.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$keys", keysDestroyed);
        command.Parameters.AddWithValue("$entities", entitiesDeleted);
        command.ExecuteNonQuery();
    }

    public static StoredDataKey ReadKey(SqliteDataReader reader) => new()
    {
        KeyId = reader.GetGuid(0),
        MasterKeyId = reader.GetString(1),
        WrappedKey = (byte[])reader.GetValue(2),
        Subject = reader.IsDBNull(3) ? null : reader.GetString(3),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
    };

    private SqliteCommand Command(SqliteTransaction transaction, string sql)
    {
        var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    public void Dispose()
    {
        _assign.Dispose();
        _upsertSubject.Dispose();
        _deleteSubject.Dispose();
        _handOver.Dispose();
    }
}
