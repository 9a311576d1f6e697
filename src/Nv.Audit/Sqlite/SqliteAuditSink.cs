using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;
using Nv.Shared.Sqlite;

namespace Nv.Audit.Sqlite;

/// <summary>The embedded audit store: one SQLite file, append-only, with a per-service SHA-256 hash chain and an
/// RFC 9162 Merkle tree per chain with signed checkpoints.</summary>
/// <remarks>
/// Failure policy: errors are never swallowed. A failed append rolls its transaction back, forgets the cached
/// chain states (heads and trees are reloaded from the file on the next use) and rethrows; the pipeline logs a WARN
/// and leaves the WAL record unaudited for the backfill, which is safe because append is idempotent by id. A failed
/// automatic checkpoint after a committed append is logged as a WARN and retried on the next append: the entries
/// themselves are durable.
/// Durability: WAL journal mode with <c>synchronous=NORMAL</c>: a returned append survives a process crash; a power loss
/// may take back the appends after the last durable point (<see cref="MakeDurableAsync"/>, every signed checkpoint), and
/// the file is then a prefix of its commits. Entity-mutation entries are a pure function of their WAL record, so the
/// pipeline rebuilds the lost ones byte for byte from Nv's WAL, starting after the <c>audited_through</c> position the
/// store records in each append transaction. An entry, its Merkle leaf, its chain link and that position are committed
/// in the same transaction.
/// Hot path: each entry is encoded once (canonical bytes, docs/audit-hash-chain.md); the chain hash and the Merkle
/// leaf hash are computed over that buffer and the column values are bound straight from it through raw SQLite
/// statements, so the stored JSON text is byte for byte what the hash covers.
/// Threading: appends, checkpoints and proofs are serialized on one writer connection; reads use their own pooled
/// read-only connections and may run concurrently with appends (SQLite WAL readers see the last committed state).
/// </remarks>
internal sealed partial class SqliteAuditSink : IAuditSink, IAuditProofs
{
    private readonly AuditOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _path;
    private readonly string _writeConnectionString;
    private readonly string _readConnectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, ChainState> _chains = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ChainHead> _pending = new(StringComparer.Ordinal);
    private readonly List<(ChainState Chain, MerkleHash Leaf)> _newLeaves = [];
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private readonly int[] _fields = new int[2 * AuditCanonicalEncoding.FieldCount];
    private readonly AuditColumnCodec _columns = new();
    private SqliteConnection? _writer;
    private Statements? _sql;
    private CheckpointSigner? _signer; // null when opened read-only, or without the host's key (_unsignedReason): nothing is signed
    private string? _unsignedReason; // SignWithHostKeyIfAvailable without the host's key: why this opening signs nothing
    private string? _publicKeyPem; // read-only: the public half of the key the host signs with, when this process knows it
    private volatile bool _initialized;
    private bool _dirty; // committed since the last synced commit that wrote a WAL frame (durable point, checkpoint, own entries)
    private SqliteException? _syncFault; // a synced commit failed with an I/O error: the store is stopped until a restart
    private long? _auditedThrough; // committed audited position (null: none recorded yet)
    private long _dataVersion; // PRAGMA data_version when the cached chains were last known to match the file
    private bool _disposed;
    private int _disposeStarted;

    /// <summary>Tests: an exception thrown by the next synced commits in place of their statement (a failed fsync).</summary>
    internal Func<SqliteException?>? InjectSyncFailure { get; set; }

    /// <summary>Test hook: an error an append's commit fails with (as SQLite reports a failed sync inside an unsynced commit).</summary>
    internal Func<SqliteException?>? InjectCommitFailure { get; set; }

    /// <summary>Tests: how many chains' states are cached in memory (read without the gate: call it while the sink is idle).</summary>
    internal int CachedChainCount => _chains.Count;

    /// <summary>Tests only: the background WAL checkpointer (null before the store opens).</summary>
    internal SqliteWalCheckpointer? WalCheckpointer => _walCheckpointer;

    public SqliteAuditSink(AuditOptions options, ILogger<SqliteAuditSink>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger<SqliteAuditSink>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _path = Path.GetFullPath(Path.Combine(options.DataDirectory, options.SqliteFileName));
        if (options.ReadOnly)
        {
            // A plain read-only connection, never SQLite's "immutable" one: the audit read commands hold no lock that keeps
            // a host away, and a host may open, append and checkpoint while they read (an immutable reader would read torn
            // pages). SQLite may create the empty -wal and -shm files of a store a host closed cleanly; they hold no data.
            _writeConnectionString = _readConnectionString = new SqliteConnectionStringBuilder
            {
                DataSource = _path,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
                DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
            }.ToString();
            return;
        }

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

    /// <summary>A test seam: called at each archive and prune step before the <c>NV_CRASH_AT</c> check (an exception thrown
    /// here stands for a crash at that step in in-process tests), and after each query index a build made (outside the
    /// writer, <c>index-built</c>).</summary>
    internal Action<string>? StepHook { get; set; }

    /// <summary>The least time between two progress reports of a running verify, archive or prune phase; tests set zero to
    /// get one every <see cref="AuditProgressReporter.CheckEvery"/> entries.</summary>
    internal TimeSpan ProgressInterval { get; set; } = AuditProgressReporter.DefaultInterval;

    /// <summary>A test seam: the bytes free on the store's filesystem, in place of the filesystem's own answer.</summary>
    internal Func<long>? FreeSpaceProbe { get; set; }

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

    public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) =>
        AppendCoreAsync(entries, null, cancellationToken);

    public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, Nv.Wal.Lsn auditedThrough, CancellationToken cancellationToken = default) =>
        AppendCoreAsync(entries, auditedThrough.Value, cancellationToken);

    private async Task<int> AppendCoreAsync(IReadOnlyList<AuditEntry> entries, long? auditedThrough, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            AuditEntryValidation.Validate(entry);
        }

        if (entries.Count == 0 && auditedThrough is null)
        {
            return 0;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            var inserted = 0;
            var start = 0;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(_options.MaxBatchSize, entries.Count - start);
                // The audited position goes with the last chunk: every entry at or below it is then committed.
                inserted += AppendChunk(entries, start, count, start + count >= entries.Count ? auditedThrough : null);
                start += count;
            }
            while (start < entries.Count);

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
        // Idempotent: a second dispose must not touch the disposed lock.
        if (Interlocked.Exchange(ref _disposeStarted, 1) == 1)
        {
            return;
        }

        await _gate.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await StopCheckpointerAsync();
            _sql?.Dispose();
            _signer?.Dispose();
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

    // One transaction per chunk: either every new entry of the chunk is stored with its chain link and Merkle leaf, or
    // none. The in-memory chain heads and trees change only after the commit. inTransaction runs inside the same
    // transaction after the inserts (archive records, pruning); synced commits with synchronous=FULL (entries no WAL
    // record backs, written by the store itself).
    private int AppendChunk(IReadOnlyList<AuditEntry> entries, int start, int count, long? auditedThrough, Action? inTransaction = null, bool synced = false)
    {
        var sql = _sql!;
        _pending.Clear();
        _newLeaves.Clear();
        var inserted = 0;
        if (synced)
        {
            sql.SynchronousFull.Execute();
        }

        sql.Begin.Execute();
        try
        {
            ForgetChainsIfChangedElsewhere();
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            Span<byte> leafBytes = stackalloc byte[MerkleHash.Size];
            for (var i = start; i < start + count; i++)
            {
                var entry = entries[i];
                var chain = Chain(entry.Service);
                if (!_pending.TryGetValue(entry.Service, out var head))
                {
                    head = new ChainHead(chain.Sequence, chain.Hash, chain.Version);
                }

                var sequence = head.Sequence + 1;
                // A sealed entry needs version 3, and a chain never goes back to an older version (the verifier refuses that).
                var version = (byte)Math.Max(AuditCanonicalEncoding.LeastVersionOf(entry), head.Version);
                _scratch.Clear();
                Convert.FromHexString(head.Hash, _scratch.GetSpan(32), out _, out _);
                _scratch.Advance(32);
                AuditCanonicalEncoding.Write(entry, version, sequence, head.Hash, _scratch, _fields);
                var written = _scratch.WrittenSpan;
                SHA256.HashData(written, digest);
                var hash = Convert.ToHexStringLower(digest);
                if (!InsertEntry(sql.Insert, written, entry, sequence, hash, version))
                {
                    continue; // already stored: idempotent backfill
                }

                var leaf = MerkleHasher.HashLeaf(written[32..]);
                leaf.CopyTo(leafBytes);
                sql.InsertLeaf.BindText(1, Field(written, 2));
                sql.InsertLeaf.Bind(2, sequence - 1);
                sql.InsertLeaf.BindBlob(3, leafBytes);
                sql.InsertLeaf.Execute();
                _pending[entry.Service] = new ChainHead(sequence, hash, version);
                _newLeaves.Add((chain, leaf));
                inserted++;
            }

            var advanced = auditedThrough is { } through && through > (_auditedThrough ?? 0);
            if (advanced)
            {
                sql.SetAuditedThrough.Bind(1, auditedThrough!.Value);
                sql.SetAuditedThrough.Execute();
            }

            inTransaction?.Invoke();
            if (InjectCommitFailure?.Invoke() is { } injected)
            {
                throw injected;
            }

            sql.Commit.Execute();
            // A synced commit syncs the WAL file, with every earlier commit's frames, only when it writes a frame itself,
            // and SQLite writes none for a transaction that changed no page (every entry stored already, an upsert of the
            // values already there). New entries and a moved audited position change pages; the work done inTransaction
            // may not (a prune chunk run twice), so without them the store stays as dirty as it was.
            if (!synced)
            {
                _dirty = true;
            }
            else if (inserted > 0 || advanced)
            {
                _dirty = false;
            }

            if (advanced)
            {
                _auditedThrough = auditedThrough;
            }
        }
        catch (Exception ex)
        {
            RollBack();
            // The chain states cached in memory may no longer match the file (or never did): reload them next time.
            _chains.Clear();
            Log.AppendRolledBack(_logger, count, ex);
            if (ex is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_IOERR } io && (synced || IsFailedSync(io)))
            {
                StopAfterSyncFailure(io);
            }

            throw;
        }
        finally
        {
            if (synced)
            {
                sql.SynchronousNormal.Execute();
            }
        }

        foreach (var (service, head) in _pending)
        {
            var chain = _chains[service];
            chain.Sequence = head.Sequence;
            chain.Hash = head.Hash;
            chain.Version = head.Version;
        }

        foreach (var (chain, leaf) in _newLeaves)
        {
            chain.Tree.Append(leaf);
        }

        List<(ChainState, Exception)>? failed = null;
        foreach (var service in _pending.Keys)
        {
            if (CheckpointIfDue(_chains[service]) is { } failure)
            {
                (failed ??= []).Add((_chains[service], failure));
            }
        }

        if (failed is not null)
        {
            RecordCheckpointFailures(failed);
        }

        return inserted;
    }

    // Binds every column from the canonical encoding (field k of the encoding is column k for the first 14 columns).
    private bool InsertEntry(SqliteStatement insert, ReadOnlySpan<byte> written, AuditEntry entry, long sequence, string hash, byte version)
    {
        for (var k = 0; k < 14; k++)
        {
            if (k is 8 or 9 or 10 or 12 && _fields[(2 * k) + 1] >= 0)
            {
                _columns.Bind(insert, k + 1, Field(written, k)); // before, after, changes, metadata: compressed when that pays
            }
            else
            {
                BindField(insert, k + 1, written, k);
            }
        }

        if (entry.Lsn is { } lsn)
        {
            insert.Bind(15, lsn.Value);
        }
        else
        {
            insert.BindNull(15);
        }

        insert.Bind(16, sequence);
        BindField(insert, 17, written, 16);
        insert.Bind(18, hash);
        BindField(insert, 19, written, 17);
        insert.Bind(20, version);
        if (version >= AuditCanonicalEncoding.Version3)
        {
            BindField(insert, 21, written, 18); // key id
            if (entry.Sealed is { } sealedData)
            {
                insert.BindBlob(22, sealedData); // the raw bytes; the encoding carries their base64
            }
            else
            {
                insert.BindNull(22);
            }
        }
        else
        {
            insert.BindNull(21);
            insert.BindNull(22);
        }

        return insert.Execute() == 1;
    }

    private void BindField(SqliteStatement statement, int parameter, ReadOnlySpan<byte> written, int field)
    {
        if (_fields[(2 * field) + 1] < 0)
        {
            statement.BindNull(parameter);
        }
        else
        {
            statement.BindText(parameter, Field(written, field));
        }
    }

    // Another process committed to the file since this writer last knew it (nv audit archive or prune next to a live
    // host appends its own entries): the cached chain heads and trees may be stale, so they are reloaded from the file.
    // PRAGMA data_version changes only with other connections' commits; one read per transaction.
    private void ForgetChainsIfChangedElsewhere()
    {
        var version = _sql!.DataVersion;
        try
        {
            version.Step();
            var current = version.GetInt64(0);
            if (current != _dataVersion)
            {
                _dataVersion = current;
                _chains.Clear();
            }
        }
        finally
        {
            version.Reset();
        }
    }

    private ReadOnlySpan<byte> Field(ReadOnlySpan<byte> written, int field) => written.Slice(_fields[2 * field], _fields[(2 * field) + 1]);

    private void RollBack()
    {
        try
        {
            if (_writer?.Handle is { } db && SQLitePCL.raw.sqlite3_get_autocommit(db) == 0)
            {
                _sql!.Rollback.Execute();
            }
        }
        catch (SqliteException)
        {
            // The original failure is what the caller needs; SQLite rolls back on its own when the connection closes.
        }
    }

    private readonly record struct ChainHead(long Sequence, string Hash, int Version);
}
