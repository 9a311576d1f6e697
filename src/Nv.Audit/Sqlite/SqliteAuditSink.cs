using System.Buffers;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nv.Audit.Chain;

namespace Nv.Audit.Sqlite;

/// <summary>The embedded audit store: one SQLite file, append-only, with a per-service SHA-256 hash chain.</summary>
/// <remarks>
/// Failure policy: errors are never swallowed. A failed append rolls its transaction back, forgets the cached
/// chain heads (they are reloaded from the file on the next append) and rethrows; the pipeline logs a WARN and
/// leaves the WAL record unaudited for the backfill, which is safe because append is idempotent by id.
/// Durability: WAL journal mode with <c>synchronous=FULL</c>, so a returned append survives power loss.
/// Threading: appends are serialized on one writer connection; reads use their own pooled read-only connections
/// and may run concurrently with appends (SQLite WAL readers see the last committed state).
/// </remarks>
internal sealed partial class SqliteAuditSink : IAuditSink
{
    private readonly AuditOptions _options;
    private readonly ILogger _logger;
    private readonly string _path;
    private readonly string _writeConnectionString;
    private readonly string _readConnectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, ChainHead> _heads = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private SqliteConnection? _writer;
    private SqliteCommand? _insert;
    private SqliteCommand? _exists;
    private SqliteCommand? _head;
    private volatile bool _initialized;
    private bool _disposed;

    public SqliteAuditSink(AuditOptions options, ILogger<SqliteAuditSink>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger<SqliteAuditSink>.Instance;
        _path = Path.GetFullPath(Path.Combine(options.DataDirectory, options.SqliteFileName));
        _writeConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
        }.ToString();
    }

    /// <summary>The audit database file.</summary>
    public string FilePath => _path;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            Validate(entry);
        }

        if (entries.Count == 0)
        {
            return 0;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            var inserted = 0;
            for (var start = 0; start < entries.Count; start += _options.MaxBatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(_options.MaxBatchSize, entries.Count - start);
                inserted += AppendChunk(entries, start, count);
            }

            Log.BatchAppended(_logger, inserted, entries.Count, entries.Count - inserted);
            return inserted;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _insert?.Dispose();
            _exists?.Dispose();
            _head?.Dispose();
            if (_writer is not null)
            {
                await _writer.DisposeAsync();
                Log.StoreClosed(_logger, _path);
            }

            using (var read = new SqliteConnection(_readConnectionString))
            {
                SqliteConnection.ClearPool(read);
            }
        }
        finally
        {
            _gate.Release();
        }

        _gate.Dispose();
    }

    // One transaction per chunk: either every new entry of the chunk is stored with its chain links, or none.
    private int AppendChunk(IReadOnlyList<AuditEntry> entries, int start, int count)
    {
        var pending = new Dictionary<string, ChainHead>(StringComparer.Ordinal);
        var seen = new HashSet<Guid>();
        var inserted = 0;
        using var transaction = _writer!.BeginTransaction();
        try
        {
            _insert!.Transaction = transaction;
            _exists!.Transaction = transaction;
            _head!.Transaction = transaction;
            for (var i = start; i < start + count; i++)
            {
                var entry = entries[i];
                if (!seen.Add(entry.Id) || Exists(entry.Id))
                {
                    continue;
                }

                if (!pending.TryGetValue(entry.Service, out var head) && !_heads.TryGetValue(entry.Service, out head))
                {
                    head = ReadHead(entry.Service);
                }

                var linked = entry with { Sequence = head.Sequence + 1, PrevHash = head.Hash, Hash = string.Empty };
                linked = linked with { Hash = AuditHash.Compute(linked, _scratch) };
                SqliteAuditRow.Bind(_insert, linked, _scratch);
                _insert.ExecuteNonQuery();
                pending[entry.Service] = new ChainHead(linked.Sequence, linked.Hash);
                inserted++;
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            // The heads cached in memory may no longer match the file (or never did): reload them next time.
            _heads.Clear();
            Log.AppendRolledBack(_logger, count, ex);
            throw;
        }

        foreach (var (chain, head) in pending)
        {
            _heads[chain] = head;
        }

        return inserted;
    }

    private bool Exists(Guid id)
    {
        _exists!.Parameters[0].Value = AuditCanonicalEncoding.FormatId(id);
        return _exists.ExecuteScalar() is not null;
    }

    private ChainHead ReadHead(string chain)
    {
        _head!.Parameters[0].Value = chain;
        using var reader = _head.ExecuteReader();
        if (!reader.Read())
        {
            return new ChainHead(0, AuditHash.Genesis);
        }

        var head = new ChainHead(reader.GetInt64(0), reader.GetString(1));
        // Linking new entries to a damaged head would extend a chain that can no longer verify: refuse.
        return AuditHash.IsWellFormed(head.Hash)
            ? head
            : throw new AuditChainBrokenException(chain, head.Sequence, "the chain head's hash is not a SHA-256 hex digest");
    }

    private void InitializeCore()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var writer = new SqliteConnection(_writeConnectionString);
        try
        {
            writer.Open();
            Execute(writer, "PRAGMA journal_mode=WAL;");
            Execute(writer, "PRAGMA synchronous=FULL;");
            var version = Convert.ToInt32(Scalar(writer, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);
            if (version > SqliteAuditSchema.Version)
            {
                throw new InvalidOperationException(
                    $"The audit store {_path} has schema version {version}; this build understands up to {SqliteAuditSchema.Version}.");
            }

            using (var transaction = writer.BeginTransaction())
            {
                Execute(writer, SqliteAuditSchema.Create, transaction);
                Execute(writer, $"PRAGMA user_version = {SqliteAuditSchema.Version};", transaction);
                transaction.Commit();
            }

            _insert = Prepare(writer, SqliteAuditSchema.Insert);
            SqliteAuditRow.AddParameters(_insert);
            _exists = Prepare(writer, SqliteAuditSchema.Exists);
            _exists.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
            _head = Prepare(writer, SqliteAuditSchema.Head);
            _head.Parameters.Add(new SqliteParameter { ParameterName = "$service" });
            _writer = writer;
            _initialized = true;
            Log.StoreOpened(_logger, _path, SqliteAuditSchema.Version);
        }
        catch
        {
            _insert?.Dispose();
            _exists?.Dispose();
            _head?.Dispose();
            writer.Dispose();
            throw;
        }
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Validate(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Require(entry.Service, nameof(AuditEntry.Service));
        Require(entry.Operation, nameof(AuditEntry.Operation));
        Require(entry.EntityId, nameof(AuditEntry.EntityId));
        Require(entry.RequestId, nameof(AuditEntry.RequestId));
        _ = AuditCategoryNames.ToName(entry.Category);
        ArgumentNullException.ThrowIfNull(entry.Changes);
        ArgumentNullException.ThrowIfNull(entry.Metadata);
    }

    private static void Require(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"Audit entry field '{name}' is required.", name);
        }
    }

    private readonly record struct ChainHead(long Sequence, string Hash);
}
