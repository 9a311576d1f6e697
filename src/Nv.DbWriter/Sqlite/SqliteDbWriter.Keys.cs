using Microsoft.Data.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

// The key store (IDataKeyStore). Writes run under the writer's lock on its connection, each as its own transaction made
// durable at once (a FULL commit: a key must never be lost once a WAL record may name it); reads use the pooled read-only
// connections, like entity reads.
internal sealed partial class SqliteDbWriter
{
    public Task AddKeysAsync(IReadOnlyList<StoredDataKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        if (keys.Count == 0)
        {
            return Task.CompletedTask;
        }

        WriteDurably("key store insert", (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"INSERT INTO _nv_keys ({SqliteKeys.KeyColumns}) VALUES ($id, $master, $wrapped, $subject, $created)";
            var id = command.Parameters.Add("$id", SqliteType.Blob);
            var master = command.Parameters.Add("$master", SqliteType.Text);
            var wrapped = command.Parameters.Add("$wrapped", SqliteType.Blob);
            var subject = command.Parameters.Add("$subject", SqliteType.Text);
            var created = command.Parameters.Add("$created", SqliteType.Integer);
            foreach (var key in keys)
            {
                id.Value = key.KeyId.ToByteArray();
                master.Value = key.MasterKeyId;
                wrapped.Value = key.WrappedKey;
                subject.Value = (object?)key.Subject ?? DBNull.Value;
                created.Value = key.CreatedAt.ToUnixTimeMilliseconds();
                command.ExecuteNonQuery();
            }

            return keys.Count;
        });
        _logger.KeysStored(keys.Count, "new unassigned keys");
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredDataKey>> FindKeysAsync(IReadOnlyCollection<Guid> keyIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyIds);
        return ReadKeys(keyIds.Select(static id => (object)id.ToByteArray()).ToList(), "key_id", cancellationToken);
    }

    public Task<IReadOnlyList<StoredDataKey>> FindSubjectKeysAsync(IReadOnlyCollection<string> subjects, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        IEnumerable<string> wanted = subjects;
        try
        {
            // The commit stage asks for a batch's new subjects, which nearly always have no key yet: only those that do are read.
            if (subjects.Count > 0 && Probe(ref _subjectProbe, "SELECT 1 FROM _nv_keys WHERE subject = ?1 LIMIT 1")?.TryProbe(subjects) is { } present)
            {
                wanted = subjects.Where(present.Contains);
            }
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read of the key store");
        }

        return ReadKeys(wanted.Cast<object>().ToList(), "subject", cancellationToken);
    }

    private Task<IReadOnlyList<StoredDataKey>> ReadKeys(List<object> values, string column, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var found = new List<StoredDataKey>();
        if (values.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<StoredDataKey>>(found);
        }

        try
        {
            using var connection = OpenReader();
            foreach (var chunk in values.Chunk(MaxIdsPerQuery))
            {
                using var command = connection.CreateCommand();
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "$v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    command.Parameters.AddWithValue(names[i], chunk[i]);
                }

                command.CommandText = $"SELECT {SqliteKeys.KeyColumns} FROM _nv_keys WHERE {column} IN ({string.Join(',', names)}) ORDER BY created_at DESC";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    found.Add(SqliteKeys.ReadKey(reader));
                }
            }

            return Task.FromResult<IReadOnlyList<StoredDataKey>>(found);
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read of the key store");
        }
    }

    public Task<string?> FindEntitySubjectAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dtoType);
        ArgumentNullException.ThrowIfNull(entityId);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            using var connection = OpenReader();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT subject FROM _nv_subjects WHERE dto_type = $t AND entity_id = $e";
            command.Parameters.AddWithValue("$t", dtoType);
            command.Parameters.AddWithValue("$e", entityId);
            return Task.FromResult(command.ExecuteScalar() as string);
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read of the key store");
        }
    }

    public Task<long> DeleteUnassignedKeysAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var deleted = WriteDurably("key store cleanup", static (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM _nv_keys WHERE subject IS NULL";
            return command.ExecuteNonQuery();
        });
        if (deleted > 0)
        {
            _logger.UnassignedKeysDeleted(deleted);
        }

        return Task.FromResult(deleted);
    }

    public Task<DataKeyStatistics> GetKeyStatisticsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            using var connection = OpenReader();
            long assigned = 0, pool = 0;
            var byMaster = new Dictionary<string, long>(StringComparer.Ordinal);
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT master_key_id, subject IS NULL, count(*) FROM _nv_keys GROUP BY 1, 2";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var count = reader.GetInt64(2);
                    byMaster[reader.GetString(0)] = byMaster.GetValueOrDefault(reader.GetString(0)) + count;
                    if (reader.GetInt64(1) != 0)
                    {
                        pool += count;
                    }
                    else
                    {
                        assigned += count;
                    }
                }
            }

            using var counts = connection.CreateCommand();
            counts.CommandText = "SELECT (SELECT count(DISTINCT subject) FROM _nv_keys WHERE subject IS NOT NULL), (SELECT count(*) FROM _nv_erasures)";
            using var row = counts.ExecuteReader();
            row.Read();
            return Task.FromResult(new DataKeyStatistics
            {
                AssignedKeys = assigned,
                PoolKeys = pool,
                Subjects = row.GetInt64(0),
                Erasures = row.GetInt64(1),
                KeysByMasterKey = byMaster,
            });
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read of the key store");
        }
    }

    public Task<IReadOnlyList<SubjectErasure>> GetErasuresAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return Task.FromResult<IReadOnlyList<SubjectErasure>>(ReadErasures("ORDER BY lsn DESC LIMIT $limit", "$limit", limit, cancellationToken));
    }

    public Task<SubjectErasure?> FindErasureAsync(Lsn lsn, CancellationToken cancellationToken = default) =>
        Task.FromResult(ReadErasures("WHERE lsn = $lsn", "$lsn", lsn.Value, cancellationToken).SingleOrDefault());

    private List<SubjectErasure> ReadErasures(string where, string parameter, long value, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            using var connection = OpenReader();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT subject, lsn, wal_id, request_id, erased_at, keys_destroyed, entities_deleted FROM _nv_erasures {where}";
            command.Parameters.AddWithValue(parameter, value);
            using var reader = command.ExecuteReader();
            var list = new List<SubjectErasure>();
            while (reader.Read())
            {
                list.Add(new SubjectErasure
                {
                    Subject = reader.GetString(0),
                    Lsn = new Lsn(reader.GetInt64(1)),
                    WalId = reader.GetGuid(2),
                    RequestId = reader.GetString(3),
                    ErasedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                    KeysDestroyed = reader.GetInt32(5),
                    EntitiesDeleted = reader.GetInt32(6),
                });
            }

            return list;
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read of the erasures");
        }
    }

    public Task<long> RewrapKeysAsync(string fromMasterKeyId, string toMasterKeyId, Func<StoredDataKey, byte[]> rewrap, Action<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fromMasterKeyId);
        ArgumentException.ThrowIfNullOrEmpty(toMasterKeyId);
        ArgumentNullException.ThrowIfNull(rewrap);
        long done = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = WriteDurably("master key rotation", (connection, transaction) =>
            {
                var keys = new List<StoredDataKey>();
                using (var select = connection.CreateCommand())
                {
                    select.Transaction = transaction;
                    select.CommandText = $"SELECT {SqliteKeys.KeyColumns} FROM _nv_keys WHERE master_key_id = $from LIMIT 1000";
                    select.Parameters.AddWithValue("$from", fromMasterKeyId);
                    using var reader = select.ExecuteReader();
                    while (reader.Read())
                    {
                        keys.Add(SqliteKeys.ReadKey(reader));
                    }
                }

                using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE _nv_keys SET master_key_id = $to, wrapped = $wrapped WHERE key_id = $id AND master_key_id = $from";
                var wrapped = update.Parameters.Add("$wrapped", SqliteType.Blob);
                var id = update.Parameters.Add("$id", SqliteType.Blob);
                update.Parameters.AddWithValue("$to", toMasterKeyId);
                update.Parameters.AddWithValue("$from", fromMasterKeyId);
                foreach (var key in keys)
                {
                    wrapped.Value = rewrap(key);
                    id.Value = key.KeyId.ToByteArray();
                    update.ExecuteNonQuery();
                }

                return keys.Count;
            });
            if (batch == 0)
            {
                return Task.FromResult(done);
            }

            done += batch;
            progress?.Invoke(done);
        }
    }

    public Task<bool> ScrubAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfStopped();
            var connection = EnsureOpen();

            // TRUNCATE: copies every frame into the database file (where secure_delete already zeroed the erased content),
            // syncs it, and cuts the WAL file to zero bytes, so the old page images that held the erased rows are gone from
            // it. It cannot finish while a reader still uses frames (then the next scrub does it), nor while the background
            // checkpoint runs (SQLite answers busy at once instead of waiting): it waits for that one. A failure stops the
            // store inside that wait, so the background loop never runs after it.
            bool Truncate()
            {
                try
                {
                    using var command = connection.CreateCommand();
                    command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                    using var reader = command.ExecuteReader();
                    reader.Read();
                    return reader.GetInt64(0) != 0;
                }
                catch (SqliteException ex)
                {
                    throw Stop(SqliteErrors.Wrap(ex, "scrub"));
                }
            }

            var busy = _checkpointer is { } checkpointer ? checkpointer.Exclusive(Truncate) : Truncate();
            if (busy)
            {
                _logger.ScrubIncomplete(Path);
            }

            return Task.FromResult(!busy);
        }
    }

    // One transaction under the writer's lock, committed with synchronous=FULL (durable before this returns).
    private long WriteDurably(string what, Func<SqliteConnection, SqliteTransaction, long> work)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            var connection = EnsureOpen();
            SqliteTransaction? transaction = null;
            try
            {
                ExecuteNonQuery(connection, "PRAGMA synchronous=FULL");
                try
                {
                    transaction = connection.BeginTransaction(deferred: false);
                    var result = work(connection, transaction);
                    transaction.Commit();
                    return result;
                }
                finally
                {
                    ExecuteNonQuery(connection, "PRAGMA synchronous=NORMAL");
                }
            }
            catch (SqliteException ex)
            {
                Rollback(transaction);
                throw Stop(SqliteErrors.Wrap(ex, what));
            }
            catch
            {
                Rollback(transaction);
                throw;
            }
            finally
            {
                DisposeQuietly(transaction);
            }
        }
    }
}
