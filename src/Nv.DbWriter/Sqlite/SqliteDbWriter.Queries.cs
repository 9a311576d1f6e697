using Microsoft.Data.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

internal sealed partial class SqliteDbWriter
{
    // Reads run on pooled read-only connections, never under the writer's lock: in WAL journal mode they see the
    // last committed state and neither wait for nor block a batch commit (which holds the lock across its fsync).
    public Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        SqliteIdentifiers.ThrowIfInvalidDtoType(dtoType, nameof(dtoType));
        ArgumentException.ThrowIfNullOrEmpty(entityId);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            using var connection = OpenReader();
            if (!TableExists(connection, dtoType))
            {
                return Task.FromResult<StoredEntity?>(null);
            }

            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT document, _nv_lsn, _nv_replay_key, _nv_wal_id FROM {SqliteIdentifiers.QuoteTable(dtoType)} WHERE id = $id AND _nv_deleted = 0";
            command.Parameters.AddWithValue("$id", entityId);
            using var reader = command.ExecuteReader();
            return Task.FromResult(reader.Read()
                ? new StoredEntity
                {
                    DtoType = dtoType,
                    EntityId = entityId,
                    Document = SqliteJson.Parse(reader.GetString(0)),
                    Lsn = new Lsn(reader.GetInt64(1)),
                    ReplayKey = reader.GetString(2),
                    WalId = SqliteJson.ReadGuid(reader, 3),
                }
                : null);
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read");
        }
    }

    public Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(after.Value, nameof(after));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        {
            try
            {
                using var connection = OpenReader();
                using var command = connection.CreateCommand();
                command.CommandText = SqliteResolutions.SelectSql("lsn > $after AND lsn <= $upTo ORDER BY lsn");
                command.Parameters.AddWithValue("$after", after.Value);
                command.Parameters.AddWithValue("$upTo", after.Value > long.MaxValue - limit ? long.MaxValue : after.Value + limit);
                using var reader = command.ExecuteReader();
                var list = new List<RecordResolution>();
                while (reader.Read())
                {
                    list.Add(SqliteResolutions.ReadRow(reader));
                }

                return Task.FromResult<IReadOnlyList<RecordResolution>>(list);
            }
            catch (SqliteException ex)
            {
                throw SqliteErrors.Wrap(ex, "read of resolutions");
            }
        }
    }

    public async Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        return (await FindByRequestIdsAsync([requestId], cancellationToken)).GetValueOrDefault(requestId);
    }

    public Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        cancellationToken.ThrowIfCancellationRequested();
        var found = new Dictionary<string, RecordResolution>(StringComparer.Ordinal);
        if (requestIds.Count == 0)
        {
            return Task.FromResult<IReadOnlyDictionary<string, RecordResolution>>(found);
        }

        try
        {
            using var connection = OpenReader();
            foreach (var chunk in requestIds.Chunk(MaxIdsPerQuery))
            {
                using var command = connection.CreateCommand();
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "$r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    command.Parameters.AddWithValue(names[i], chunk[i]);
                }

                // Through the request outcomes' unique (request_id, scope) key: the first record of a request id in each
                // scope has a row there, so the lowest of those LSNs is the first record carrying the id (schema 4 keeps no
                // request-id index on _nv_resolutions: one random B-tree page fewer per write).
                command.CommandText = SqliteResolutions.SelectSql(
                    $"lsn IN (SELECT lsn FROM _nv_requests WHERE request_id IN ({string.Join(',', names)})) ORDER BY lsn");
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var resolution = SqliteResolutions.ReadRow(reader);
                    found.TryAdd(resolution.RequestId, resolution);
                }
            }

            return Task.FromResult<IReadOnlyDictionary<string, RecordResolution>>(found);
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read of resolutions");
        }
    }

    // Well under SQLite's host-parameter limit (32766 since 3.32), and a statement short enough to parse cheaply.
    private const int MaxIdsPerQuery = 500;

    public Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            EnsureOpen();
            return Task.FromResult(new Lsn(_resolvedThrough));
        }
    }

    /// <remarks>The highest stored resolution (an erasure commits with its resolution): above the watermark only after a
    /// gap.</remarks>
    public Task<Lsn> GetHighestLsnHeldAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            EnsureOpen();
            return Task.FromResult(new Lsn(Math.Max(_resolvedThrough, _maxResolutionLsn)));
        }
    }

    public Task<Lsn> MakeDurableAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfStopped();
            var connection = EnsureOpen();
            var target = _resolvedThrough;
            if (target == _durableThrough)
            {
                return Task.FromResult(new Lsn(target));
            }

            try
            {
                // One FULL commit syncs the SQLite WAL file, and with it every frame an earlier NORMAL commit wrote, but only
                // when it writes a frame itself: SQLite writes none for a transaction that changed no page. The position
                // may be stored already (the first durable point after a restart, whose commits since, stored mappings,
                // purges or a migration, resolved nothing new), so the durable point is counted too: that always changes a
                // page. An upsert: stores written before the count need no migration.
                ExecuteNonQuery(connection, "PRAGMA synchronous=FULL");
                try
                {
                    using var transaction = connection.BeginTransaction(deferred: false);
                    if (InjectBatchFailure?.Invoke() is { } injected)
                    {
                        throw injected;
                    }

                    using (var command = connection.CreateCommand())
                    {
                        command.Transaction = transaction;
                        command.CommandText = $"UPDATE _nv_meta SET value = $lsn WHERE key = '{DurableThroughKey}'";
                        command.Parameters.AddWithValue("$lsn", target);
                        command.ExecuteNonQuery();
                        command.CommandText = $"INSERT INTO _nv_meta (key, value) VALUES ('{DurablePointsKey}', 1) " +
                            "ON CONFLICT (key) DO UPDATE SET value = value + 1";
                        command.Parameters.Clear();
                        command.ExecuteNonQuery();
                    }

                    transaction.Commit();
                }
                finally
                {
                    ExecuteNonQuery(connection, "PRAGMA synchronous=NORMAL");
                }
            }
            catch (SqliteException ex)
            {
                throw Stop(SqliteErrors.Wrap(ex, "durable point")); // a failed sync (IOERR_FSYNC) stops the store
            }

            _durableThrough = target;
            _logger.DurablePoint(target);
            return Task.FromResult(new Lsn(target));
        }
    }

    /// <remarks>Purges at most up to the resolved-through watermark: WAL truncation never passes it, and purging an
    /// unresolved record's neighbours would break the watermark's gap walk. The watermark itself never moves back.</remarks>
    public Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfStopped();
            var connection = EnsureOpen();
            var effective = Math.Min(upTo.Value, _resolvedThrough);
            if (upTo.Value > _resolvedThrough)
            {
                _logger.PurgeClamped(upTo.Value, _resolvedThrough);
            }

            if (effective <= 0)
            {
                return Task.CompletedTask;
            }

            SqliteTransaction? transaction = null;
            try
            {
                transaction = connection.BeginTransaction(deferred: false);
                int resolutions, tombstones = 0;
                using (var command = connection.CreateCommand())
                {
                    command.Transaction = transaction;
                    command.CommandText = "DELETE FROM _nv_resolutions WHERE lsn <= $upTo";
                    command.Parameters.AddWithValue("$upTo", effective);
                    resolutions = command.ExecuteNonQuery();
                    command.CommandText = "DELETE FROM _nv_batch_resolutions WHERE lsn <= $upTo";
                    command.ExecuteNonQuery();
                }

                foreach (var dtoType in ListEntityTables(connection, transaction))
                {
                    using var command = connection.CreateCommand();
                    command.Transaction = transaction;
                    command.CommandText = SqliteTable.PurgeTombstonesSql(dtoType);
                    command.Parameters.AddWithValue("$upTo", effective);
                    tombstones += command.ExecuteNonQuery();
                }

                transaction.Commit();
                if (resolutions + tombstones > 0)
                {
                    _logger.Purged(effective, resolutions, tombstones); // every maintenance pass purges; only news are logged
                }
            }
            catch (SqliteException ex)
            {
                Rollback(transaction);
                throw Stop(SqliteErrors.Wrap(ex, "purge"));
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

        return Task.CompletedTask;
    }

    private SqliteConnection OpenReader()
    {
        var connectionString = _readConnectionString;
        if (connectionString is null)
        {
            lock (_gate)
            {
                EnsureOpen();
                connectionString = _readConnectionString!;
            }
        }

        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    // An index probe of the commit stage's lookups, opened on first use (and again after a failed read closed it); null
    // once the writer is disposed.
    private SqliteIndexProbe? Probe(ref SqliteIndexProbe? field, string existsSql)
    {
        var probe = Volatile.Read(ref field);
        if (probe is not null && !probe.IsClosed)
        {
            return probe;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            EnsureOpen();
            if (field is null || field.IsClosed)
            {
                field?.Dispose();
                field = new SqliteIndexProbe(_ownReadConnectionString!, existsSql, _options.SqliteBusyTimeout);
            }

            return field;
        }
    }

    // SQLite table names ignore case, dtoTypes do not: a read of "order" must not see table "Order".
    private bool TableExists(SqliteConnection connection, string dtoType)
    {
        if (_knownTables.ContainsKey(dtoType))
        {
            return true;
        }

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $name COLLATE BINARY";
        command.Parameters.AddWithValue("$name", dtoType);
        if (command.ExecuteScalar() is null)
        {
            return false;
        }

        _knownTables.TryAdd(dtoType, true);
        return true;
    }
}
