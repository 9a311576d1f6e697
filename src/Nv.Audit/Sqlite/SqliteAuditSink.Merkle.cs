using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>The Merkle tree per chain, signed checkpoints and proofs (issue 6).</summary>
/// <remarks>A chain's state (head, tree, last checkpoint) is loaded from the file the first time the chain is used and
/// kept in memory: the leaf hashes (32 bytes per entry) and the tree's subtree cache (about 4 bytes per entry). A name the
/// store holds no chain for is never kept (proofs and checkpoints of it are null or <see cref="KeyNotFoundException"/>).
/// Every member here runs under the writer lock, so proofs and checkpoints see only committed batches.</remarks>
internal sealed partial class SqliteAuditSink
{
    public async Task<string> GetPublicKeyPemAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            return CurrentPublicKeyPem() ?? throw (_unsignedReason is { } why
                ? new AuditSigningKeyException($"This opening of the audit store {_path} signs no checkpoint: {why}.")
                : new InvalidOperationException(
                    "This read-only opening of the audit store knows no signing key: NV_AUDIT_SIGNING_KEY and Nv:Audit:SigningKeyPath "
                    + $"are not set and {Path.GetDirectoryName(_path)} holds no {AuditSigningKey.GeneratedPublicFileName}."));
        }
        finally
        {
            _gate.Release();
        }
    }

    // Empty when a read-only opening knows no key at all: its verification then names each checkpoint's key as not given.
    public async Task<string> GetTrustedPublicKeysPemAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        string? current;
        try
        {
            InitializeCore();
            current = CurrentPublicKeyPem();
        }
        finally
        {
            _gate.Release();
        }

        return CheckpointKeys.Trusted(current, _options.PreviousPublicKeysPath);
    }

    private string? CurrentPublicKeyPem() => _signer?.PublicKeyPem ?? _publicKeyPem;

    // The key that signs: a read-only opening, or one without the host's key, has none, and whatever would sign fails instead.
    private CheckpointSigner Signer => _signer ?? throw CannotSign();

    private Exception CannotSign() => _unsignedReason is { } why
        ? new AuditSigningKeyException($"No audit checkpoint signed: {why}; the host signs one when it next runs (or nv audit checkpoint with the host's key)")
        : new InvalidOperationException($"The audit store {_path} is open read-only: it signs no checkpoint.");

    public async Task<AuditInclusionProof?> GetInclusionProofAsync(Guid entryId, long? treeSize = null, CancellationToken cancellationToken = default)
    {
        var entry = await GetAsync(entryId, cancellationToken);
        if (entry is null)
        {
            return null;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            var chain = Chain(entry.Service);
            var index = entry.Sequence - 1;
            SignedCheckpoint? checkpoint;
            long size;
            if (treeSize is { } requested)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requested, index, nameof(treeSize));
                ArgumentOutOfRangeException.ThrowIfGreaterThan(requested, chain.Tree.Size, nameof(treeSize));
                size = requested;
                checkpoint = chain.Latest is { } latest && latest.Checkpoint.TreeSize == size ? latest : FindCheckpoint(chain.Name, size);
            }
            else
            {
                checkpoint = chain.Latest is { } latest && latest.Checkpoint.TreeSize > index ? latest
                    : _signer is null ? null // read-only or unsigned: no checkpoint signed now; the proof is against the current tree
                    : CheckpointCore(chain);
                size = checkpoint?.Checkpoint.TreeSize ?? chain.Tree.Size;
            }

            return AuditInclusionProof.FromTree(entry, chain.Name, chain.Tree, index, size, checkpoint);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<AuditConsistencyProof> GetConsistencyProofAsync(string chain, long fromSize, long toSize, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            var tree = (KnownChain(chain) ?? throw UnknownChain(chain)).Tree;
            return new AuditConsistencyProof
            {
                Chain = chain,
                Proof = tree.GetConsistencyProof(fromSize, toSize),
                FromRoot = tree.RootAt(fromSize),
                ToRoot = tree.RootAt(toSize),
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<SignedCheckpoint?> CheckpointAsync(string chain, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            return KnownChain(chain) is { Tree.Size: > 0 } state ? CheckpointCore(state) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<SignedCheckpoint>> CheckpointAllAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            if (_unsignedReason is not null)
            {
                throw CannotSign(); // this opening signs nothing, not even a chain that did not grow
            }

            ForgetChainsIfChangedElsewhere();
            var signed = new List<SignedCheckpoint>();
            foreach (var name in ChainNames())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var state = Chain(name);
                if (state.Tree.Size > (state.Latest?.Checkpoint.TreeSize ?? 0))
                {
                    signed.Add(CheckpointCore(state));
                }
            }

            return signed;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<SignedCheckpoint?> GetLatestCheckpointAsync(string chain, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            return KnownChain(chain)?.Latest;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<SignedCheckpoint>> GetLatestCheckpointsAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            var latest = new List<SignedCheckpoint>();
            foreach (var name in ChainNames())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Chain(name).Latest is { } checkpoint)
                {
                    latest.Add(checkpoint);
                }
            }

            return latest;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static readonly TimeSpan MaxCheckpointRetryDelay = TimeSpan.FromSeconds(30);

    // After a committed append, and on the idle tick: checkpoint by count or by age. Never throws: the entries are
    // already durable. Returns the failure when signing failed now (the caller records it in the trail).
    private Exception? CheckpointIfDue(ChainState chain)
    {
        if (_signer is null)
        {
            return null; // an opening without the host's key signs nothing; the host's next checkpoint covers these entries
        }

        var size = chain.Tree.Size;
        var lastSize = chain.Latest?.Checkpoint.TreeSize ?? 0;
        if (size <= lastSize)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        var byCount = _options.CheckpointEveryEntries > 0 && size - lastSize >= _options.CheckpointEveryEntries;
        var byTime = _options.CheckpointInterval > TimeSpan.Zero && now - chain.LastCheckpointAt >= _options.CheckpointInterval;
        if ((!byCount && !byTime) || now < chain.RetryAfter)
        {
            return null;
        }

        try
        {
            CheckpointCore(chain);
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not again on every append or idle tick: one WARN per retry period while signing keeps failing.
            var period = _options.CheckpointInterval > TimeSpan.Zero && _options.CheckpointInterval < MaxCheckpointRetryDelay
                ? _options.CheckpointInterval
                : MaxCheckpointRetryDelay;
            chain.RetryAfter = now + period;
            Log.CheckpointFailed(_logger, chain.Name, period.TotalSeconds, ex);
            return ex;
        }
    }

    // A failed automatic checkpoint is a system-events entry of its chain, written by the store itself (synced: no WAL
    // record backs it). Best effort: when the store cannot take it either, the WARN already logged is what remains.
    private void RecordCheckpointFailures(List<(ChainState Chain, Exception Failure)> failures)
    {
        var entries = failures.ConvertAll(f => AuditEntryFactory.SystemEvent(f.Chain.Name, NvOperations.CheckpointFailed, "audit",
            f.Failure.Message, new Dictionary<string, string>
            {
                ["treeSize"] = f.Chain.Tree.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["lastCheckpointSize"] = (f.Chain.Latest?.Checkpoint.TreeSize ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["exception"] = f.Failure.GetType().Name,
            }, _time));
        try
        {
            AppendChunk(entries, 0, entries.Count, null, synced: true);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.SystemEntryFailed(_logger, NvOperations.CheckpointFailed, ex);
        }
    }

    // Signs the chain's current head and stores it (autocommit: one durable insert), unless the newest stored
    // checkpoint already has that size.
    private SignedCheckpoint CheckpointCore(ChainState chain)
    {
        var head = chain.Tree.Head;
        if (chain.Latest is { } latest && latest.Checkpoint.TreeSize == head.Size)
        {
            return latest;
        }

        var signed = Signer.Sign(chain.Name, head.Size, head.Root, _time.GetUtcNow());
        var insert = _sql!.InsertCheckpoint;
        insert.Bind(1, chain.Name);
        insert.Bind(2, head.Size);
        insert.Bind(3, signed.Checkpoint.Timestamp.ToString(Checkpoint.TimestampFormat, System.Globalization.CultureInfo.InvariantCulture));
        insert.Bind(4, signed.ToText());
        // A synced commit: its sync covers every entry the checkpoint signs, so no power loss can keep the checkpoint
        // and take back an entry it covers (or make the checkpoint visible before it is durable).
        ExecuteSynced(() => insert.Execute());
        chain.Latest = signed;
        chain.LastCheckpointAt = signed.Checkpoint.Timestamp;
        Log.CheckpointSigned(_logger, chain.Name, head.Size, head.Root.ToHex());
        return signed;
    }

    private SignedCheckpoint? FindCheckpoint(string chain, long size)
    {
        using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT text FROM audit_checkpoints WHERE chain = $chain AND size = $size ORDER BY position DESC LIMIT 1";
        command.Parameters.AddWithValue("$chain", chain);
        command.Parameters.AddWithValue("$size", size);
        return command.ExecuteScalar() is string text ? SignedCheckpoint.Parse(text) : null;
    }

    private List<string> ChainNames()
    {
        var names = new List<string>();
        var statement = _sql!.Chains;
        try
        {
            while (statement.Step())
            {
                names.Add(statement.GetString(0));
            }
        }
        finally
        {
            statement.Reset();
        }

        return names;
    }

    // The chain's cached state, loaded from the file on first use (inside the append transaction when called from
    // there, so it sees exactly the committed state the batch builds on). For the append path and the chains the store
    // lists: a chain about to get its first entry is cached too.
    private ChainState Chain(string name) => LoadChain(name, cacheUnknown: true)!;

    // The chain's state when the store holds the chain (entries, a pruned prefix or a checkpoint), else null and nothing
    // cached: proofs and checkpoints are asked about names a caller chose, and caching each of them would grow memory
    // without bound (freed only by a rollback) and add a chain for the periodic checkpointer to visit on every tick.
    private ChainState? KnownChain(string name) => LoadChain(name, cacheUnknown: false);

    private static KeyNotFoundException UnknownChain(string name) =>
        new($"The audit store has no chain '{name}' (no entries, no checkpoint).");

    private ChainState? LoadChain(string name, bool cacheUnknown)
    {
        if (_chains.TryGetValue(name, out var state))
        {
            return state;
        }

        var sql = _sql!;
        long sequence = 0;
        var hash = AuditHash.Genesis;
        var version = 0;
        try
        {
            sql.Head.Bind(1, name);
            if (sql.Head.Step())
            {
                sequence = sql.Head.GetInt64(0);
                hash = sql.Head.GetString(1);
                version = (int)sql.Head.GetInt64(2);
            }
        }
        finally
        {
            sql.Head.Reset();
        }

        if (sequence == 0 && ReadPruned(sql, name) is { } pruned)
        {
            // Retention pruned every entry of the chain: it goes on from the last pruned one.
            (sequence, hash) = pruned;
        }

        // Linking new entries to a damaged head would extend a chain that can no longer verify: refuse.
        if (!AuditHash.IsWellFormed(hash))
        {
            throw new AuditChainBrokenException(name, sequence, "the chain head's hash is not a SHA-256 hex digest");
        }

        var leaves = new InMemoryMerkleLeafStore();
        try
        {
            sql.ChainLeaves.Bind(1, name);
            while (sql.ChainLeaves.Step())
            {
                leaves.Append(MerkleHash.FromBytes(sql.ChainLeaves.GetBlob(0)));
            }
        }
        finally
        {
            sql.ChainLeaves.Reset();
        }

        if (leaves.Count != sequence)
        {
            throw new AuditChainBrokenException(name, sequence,
                $"the chain has {sequence} entries but {leaves.Count} Merkle leaves; run verification");
        }

        SignedCheckpoint? latest = null;
        try
        {
            sql.LatestCheckpoint.Bind(1, name);
            if (sql.LatestCheckpoint.Step())
            {
                latest = SignedCheckpoint.Parse(sql.LatestCheckpoint.GetString(0));
            }
        }
        finally
        {
            sql.LatestCheckpoint.Reset();
        }

        if (sequence == 0 && latest is null && !cacheUnknown)
        {
            return null;
        }

        state = new ChainState(name, new MerkleTree(leaves))
        {
            Sequence = sequence,
            Hash = hash,
            Version = version,
            Latest = latest,
            // Without a checkpoint, the interval counts from when the chain was loaded.
            LastCheckpointAt = latest?.Checkpoint.Timestamp ?? _time.GetUtcNow(),
        };
        _chains[name] = state;
        return state;
    }

    // The chain's pruned prefix (last pruned sequence and its hash), if retention pruned any.
    private static (long Through, string Hash)? ReadPruned(Statements sql, string chain)
    {
        try
        {
            sql.Pruned.Bind(1, chain);
            return sql.Pruned.Step() ? (sql.Pruned.GetInt64(0), sql.Pruned.GetString(1)) : null;
        }
        finally
        {
            sql.Pruned.Reset();
        }
    }

    /// <summary>What the writer knows about one chain.</summary>
    private sealed class ChainState(string name, MerkleTree tree)
    {
        public string Name { get; } = name;

        public MerkleTree Tree { get; } = tree;

        public long Sequence { get; set; }

        public string Hash { get; set; } = AuditHash.Genesis;

        /// <summary>The encoding version of the chain's last entry: the next one is written with at least it.</summary>
        public int Version { get; set; }

        public SignedCheckpoint? Latest { get; set; }

        public DateTimeOffset LastCheckpointAt { get; set; }

        /// <summary>After a failed signing, no new attempt before this.</summary>
        public DateTimeOffset RetryAfter { get; set; }
    }
}
