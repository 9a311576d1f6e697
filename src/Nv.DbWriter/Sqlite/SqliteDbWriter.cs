using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nv.Shared.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>The embedded default <see cref="IDbWriter"/>: one SQLite file, one table per dtoType, one transaction per batch.</summary>
/// <remarks>
/// Failure policy (<see cref="SqliteErrors"/> classifies): a transient SQLite error inside a batch (busy or locked beyond
/// the timeout, out of memory, disk full) rolls the whole batch back and reports every record as
/// <see cref="ApplyStatus.Transient"/>; nothing is committed and the caller retries later. Any other error (corruption,
/// not a database, an I/O error, a read-only or unopenable file, a bug) rolls back and throws a non-transient
/// <see cref="DbWriterException"/> carrying its <see cref="DbErrorClass"/>, and the store stops: every later write, purge
/// or request lookup throws the same exception without touching the file, until the writer is reopened.
/// Durability: <c>journal_mode=WAL</c> with <c>synchronous=NORMAL</c>: a commit is written to the SQLite WAL file (it
/// survives a process crash) but not synced, because Nv's own WAL, fsynced before any apply, is the one durability
/// source. <see cref="MakeDurableAsync"/> is the periodic durable point: one commit with <c>synchronous=FULL</c> that
/// records <c>durable_through</c>, counts itself in <c>durable_points</c> (so that it always writes a WAL frame: a FULL
/// commit that changed no page syncs nothing) and syncs the SQLite WAL file, covering every earlier commit. After a power loss the
/// file is a prefix of its commits (SQLite's WAL frames are checksummed), and <c>resolved_through</c>, committed with
/// the data it describes, says where boot replay resumes. Results are returned only after their commit succeeds.
/// Threading: one connection, kept open, guarded by one lock. Every operation is serialized, so a concurrent read
/// waits for the batch in progress; the contract still allows only one applier.
/// </remarks>
internal sealed partial class SqliteDbWriter : IDbWriter, IDataKeyStore
{
    private const string ResolvedThroughKey = "resolved_through";
    private const string DurableThroughKey = "durable_through";
    private const string DurablePointsKey = "durable_points"; // how many durable points committed (MakeDurableAsync)

    // 2: _nv_requests (request outcomes kept for the idempotency window);
    // 3: the key store (_nv_keys, _nv_subjects, _nv_erasures), _nv_resolutions.key_id and _nv_batch_resolutions.item_key_ids
    //    (encryption at rest);
    // 4: no request-id index on _nv_resolutions (a lookup by request id goes through _nv_requests' unique key): one random
    //    B-tree page fewer per write (measured: 1.18x the sustained write rate at ack=applied).
    private const int SchemaVersion = 5;

    private readonly Lock _gate = new();
    private readonly DbWriterOptions _options;
    private readonly ILogger _logger;
    private readonly DbWriterMetrics _metrics;
    private readonly Dictionary<string, SqliteTable> _tables = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _storedDtoTypes = new(StringComparer.Ordinal); // CheckDtoType's
    private readonly ArrayBufferWriter<byte> _payloadBuffer = new(4096);
    private readonly Utf8JsonWriter _payloadWriter;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _knownTables = new(StringComparer.Ordinal);
    private string? _readConnectionString;
    private string? _ownReadConnectionString; // read-only, not pooled
    private SqliteConnection? _connection;
    private SqliteResolutions? _resolutions;
    private SqliteRequests? _requests;
    private SqliteIndexProbe? _requestProbe; // request ids with an outcome; opened on the first lookup, under _gate
    private SqliteIndexProbe? _subjectProbe; // subjects with a data key; likewise
    private SqliteRequestIdFilter? _requestIds; // request ids with an outcome, in memory; built when the store opens
    private SqliteWalCheckpointer? _checkpointer; // copies the SQLite WAL file into the database file, in the background
    private SqliteKeys? _keys;
    private bool _disposed;
    private DbWriterException? _fault; // set by the first non-transient failure of a write: the store has stopped

    // Committed state, changed only after a successful commit.
    private long _resolvedThrough;
    private long _maxResolutionLsn;
    private long _durableThrough;

    public SqliteDbWriter(DbWriterOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        // Stored documents are data, never embedded in HTML: keep non-ASCII text readable instead of \uXXXX-escaped.
        _payloadWriter = new Utf8JsonWriter(_payloadBuffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _metrics = new DbWriterMetrics(meterFactory);
        _logger = (ILogger?)loggerFactory?.CreateLogger<SqliteDbWriter>() ?? NullLogger.Instance;
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(options.DataDirectory, options.SqliteFileName));
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Tests only: called inside each batch (and durable point) transaction before its first write; an exception it returns is thrown
    /// there, as SQLite would raise it (fault injection of result codes no real file can be made to produce on demand).</summary>
    internal Func<SqliteException?>? InjectBatchFailure { get; set; }

    /// <summary>Tests only: the background checkpointer (null before the store opens).</summary>
    internal SqliteWalCheckpointer? Checkpointer => _checkpointer;

    /// <summary>The open connection, for tests that inspect pragmas or inject failures. Use only under no concurrency.</summary>
    internal SqliteConnection Connection
    {
        get
        {
            lock (_gate)
            {
                return EnsureOpen();
            }
        }
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            EnsureOpen();
        }

        return Task.CompletedTask;
    }

    /// <summary>Opens the file and creates the schema if that has not happened yet (synchronous; SQLite I/O is).</summary>
    internal void Initialize()
    {
        lock (_gate)
        {
            EnsureOpen();
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
            foreach (var table in _tables.Values)
            {
                table.Dispose();
            }

            _tables.Clear();
            _payloadWriter.Dispose();
            _metrics.Dispose();
            DisposeStatements();
            if (_readConnectionString is { } readers)
            {
                _readConnectionString = null;
                using var pooled = new SqliteConnection(readers);
                SqliteConnection.ClearPool(pooled);
            }

            if (_connection is not null)
            {
                _connection.Dispose();
                _connection = null;
                _logger.SqliteClosed(Path);
            }
        }

        return ValueTask.CompletedTask;
    }

    // A background checkpoint failed (on the checkpointer's thread): logged, and the store stops unless it was transient.
    private void CheckpointFailed(Exception exception)
    {
        _logger.WalCheckpointFailed(exception, Path);
        if (exception is SqliteException sqlite)
        {
            Stop(SqliteErrors.Wrap(sqlite, "background checkpoint"));
        }
    }

    // Everything that holds statements or connections of the store, but the writer's connection itself (under _gate).
    private void DisposeStatements()
    {
        _checkpointer?.Dispose(); // first, with the filter: each works on a connection of its own until it stops
        _checkpointer = null;
        _requestIds?.Dispose(); // its build reads on a connection of its own until it stops
        _requestIds = null;
        _requestProbe?.Dispose();
        _requestProbe = null;
        _subjectProbe?.Dispose();
        _subjectProbe = null;
        _resolutions?.Dispose();
        _resolutions = null;
        _requests?.Dispose();
        _requests = null;
        _keys?.Dispose();
        _keys = null;
    }

    // An upper bound of the request outcomes stored (rows are keyed by LSN), to size the request-id filter.
    // Only sizes the filter: a failed read (the apply or open that follows reports the store's trouble) sizes it at its least.
    private long StoredRequestIds()
    {
        try
        {
            return (long)(ExecuteScalar(_connection!, "SELECT coalesce(max(lsn) - min(lsn) + 1, 0) FROM _nv_requests") ?? 0L);
        }
        catch (SqliteException)
        {
            return 0;
        }
    }

    private SqliteConnection EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_connection is not null)
        {
            return _connection;
        }

        var connection = _options.ReadOnly ? OpenReadOnly() : Open();
        try
        {
            if (_options.ReadOnly)
            {
                CheckSchemaReadOnly(connection, Path);
            }
            else
            {
                CreateSchema(connection, _logger, Path);
            }

            _resolutions = new SqliteResolutions(connection);
            _requests = new SqliteRequests(connection);
            _keys = new SqliteKeys(connection);
            (_resolvedThrough, _maxResolutionLsn) = _resolutions.LoadState();
        }
        catch (Exception ex)
        {
            DisposeStatements();
            connection.Dispose();
            if (ex is SqliteException sqlite)
            {
                throw SqliteErrors.Wrap(sqlite, "open of " + Path);
            }

            throw;
        }

        _connection = connection;
        if (_options.ReadOnly)
        {
            // Queries read through the same read-only (immutable when possible) connection string; no request-id filter
            // is built and no checkpointer runs.
            _readConnectionString = _ownReadConnectionString = connection.ConnectionString;
            _logger.SqliteOpened(Path, "read-only", -1, _resolvedThrough);
            return connection;
        }

        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(_options.SqliteBusyTimeout.TotalSeconds)),
        }.ToString();
        _logger.SqliteOpened(Path, "wal", (long)(ExecuteScalar(connection, "PRAGMA synchronous") ?? -1L), _resolvedThrough);
        // The lookup probes and the filter's build keep connections of their own, outside the readers' pool (SqliteIndexProbe).
        _ownReadConnectionString = new SqliteConnectionStringBuilder(_readConnectionString) { Pooling = false }.ToString();
        _requestIds = new SqliteRequestIdFilter(_ownReadConnectionString, _logger, _options.RequestIdFilterMinCapacity);
        _requests!.Filter = _requestIds;
        _requestIds.StartBuildIfDue(StoredRequestIds);
        _checkpointer = new SqliteWalCheckpointer(
            new SqliteConnectionStringBuilder(_readConnectionString) { Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString(),
            () => Volatile.Read(ref _fault) is not null, CheckpointFailed);
        return connection;
    }

    private SqliteConnection Open()
    {
        Directory.CreateDirectory(_options.DataDirectory);
        var busy = _options.SqliteBusyTimeout;
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            // One long-lived connection: pooling would only keep the file open after dispose.
            Pooling = false,
            // Microsoft.Data.Sqlite retries busy/locked statements itself until this many seconds have passed.
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busy.TotalSeconds)),
        };

        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            var journalMode = ExecuteScalar(connection, "PRAGMA journal_mode=WAL") as string;
            if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new DbWriterException($"SQLite refused journal_mode=WAL for {Path} (it reports '{journalMode}').", isTransient: false);
            }

            ExecuteNonQuery(connection, "PRAGMA synchronous=NORMAL");
            ExecuteNonQuery(connection, string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA busy_timeout={(long)Math.Ceiling(busy.TotalMilliseconds)}"));
            ExecuteNonQuery(connection, "PRAGMA foreign_keys=OFF");
            // A backstop: the background checkpointer copies the WAL file far more often (SqliteWalCheckpointer).
            ExecuteNonQuery(connection, string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA wal_autocheckpoint={SqliteWalCheckpointer.WriterAutoCheckpointPages}"));
            // After a burst that grew the WAL file (a reader held a snapshot while writes went on, a large batch) it shrinks
            // back to this once checkpointed and restarted, instead of keeping its largest size on disk (as the audit store).
            ExecuteNonQuery(connection, string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA journal_size_limit={SqliteWalCheckpointer.JournalSizeLimitBytes}"));
            if (_options.SecureDelete)
            {
                // Deleted rows (an erased entity, a destroyed key, a forgotten before image) are overwritten with zeros
                // in the page, and freed pages zeroed, instead of lingering until the space is reused.
                ExecuteNonQuery(connection, "PRAGMA secure_delete=ON");
            }

            return connection;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw SqliteErrors.Wrap(ex, "open of " + Path);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // Creates the schema of a new store, or migrates one written by an earlier version in place (one transaction: a
    // crash leaves the old version intact). Version 1 → 2 adds _nv_requests and carries the stored resolutions over as
    // unscoped request outcomes; 2 → 3 adds the key store tables and _nv_resolutions.key_id (NULL for every earlier
    // record: they were written in plain); 3 → 4 drops _nv_resolutions' request-id index and gives every batch record an
    // unscoped request outcome (version 3 stored none for batches); 4 → 5 keeps a rejected batch's failed item and an audit
    // event's record id in its request outcome (carried over from the resolutions still stored). A newer version than this
    // build knows is refused.
    private static void CreateSchema(SqliteConnection connection, ILogger logger, string path)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                CREATE TABLE IF NOT EXISTS _nv_meta (
                    key TEXT NOT NULL PRIMARY KEY,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO _nv_meta (key, value) VALUES ('schema_version', {SchemaVersion});
                INSERT OR IGNORE INTO _nv_meta (key, value) VALUES ('{ResolvedThroughKey}', 0);
                INSERT OR IGNORE INTO _nv_meta (key, value) VALUES ('{DurableThroughKey}', 0);
                {SqliteResolutions.CreateSql}
                {SqliteRequests.CreateSql}
                {SqliteKeys.CreateSql}
                """;
            command.ExecuteNonQuery();
            command.CommandText = "SELECT value FROM _nv_meta WHERE key = 'schema_version'";
            var version = command.ExecuteScalar() is long stored ? stored : -1;
            if (version is < 1 or > SchemaVersion)
            {
                throw new DbWriterException(
                    $"The SQLite store {path} has schema version {version}; this build reads versions 1 to {SchemaVersion} (a newer Nv wrote it, or it is damaged).",
                    DbErrorClass.Internal);
            }

            var from = version;
            long carried = 0;
            if (version == 1)
            {
                command.CommandText = SqliteRequests.MigrateFromVersion1Sql;
                command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                carried = command.ExecuteNonQuery();
                command.Parameters.Clear();
                version = 2;
            }

            if (version == 2)
            {
                command.CommandText = "SELECT count(*) FROM pragma_table_info('_nv_resolutions') WHERE name = 'key_id'";
                if ((long)command.ExecuteScalar()! == 0)
                {
                    command.CommandText = "ALTER TABLE _nv_resolutions ADD COLUMN key_id BLOB";
                    command.ExecuteNonQuery();
                }

                command.CommandText = "SELECT count(*) FROM pragma_table_info('_nv_batch_resolutions') WHERE name = 'item_key_ids'";
                if ((long)command.ExecuteScalar()! == 0)
                {
                    command.CommandText = "ALTER TABLE _nv_batch_resolutions ADD COLUMN item_key_ids TEXT";
                    command.ExecuteNonQuery();
                }

                version = 3;
            }

            if (version == 3)
            {
                command.CommandText = "DROP INDEX IF EXISTS _nv_resolutions_request_id";
                command.ExecuteNonQuery();
                command.CommandText = SqliteRequests.MigrateFromVersion3Sql;
                command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                carried += command.ExecuteNonQuery();
                command.Parameters.Clear();
                version = 4;
            }

            if (version == 4)
            {
                foreach (var (name, type) in SqliteRequests.Version5Columns)
                {
                    command.CommandText = $"SELECT count(*) FROM pragma_table_info('_nv_requests') WHERE name = '{name}'";
                    if ((long)command.ExecuteScalar()! == 0)
                    {
                        command.CommandText = $"ALTER TABLE _nv_requests ADD COLUMN {name} {type}";
                        command.ExecuteNonQuery();
                    }
                }

                command.CommandText = SqliteRequests.MigrateFromVersion4Sql;
                command.ExecuteNonQuery();
                version = 5;
            }

            if (from != SchemaVersion)
            {
                command.CommandText = $"UPDATE _nv_meta SET value = {SchemaVersion} WHERE key = 'schema_version'";
                command.ExecuteNonQuery();
                logger.SchemaMigrated(path, (int)from, SchemaVersion, (int)carried);
            }
        }

        transaction.Commit();
    }

    private static object? ExecuteScalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void ExecuteNonQuery(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
