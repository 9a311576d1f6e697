using System.Buffers;
using System.Security.Cryptography;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;
using Nv.Wal;

namespace Nv.Audit.InMemory;

/// <summary>An audit store in process memory: the in-memory mode (<c>AddNv(o =&gt; o.UseInMemory())</c>) for development and
/// unit tests of services that embed Nv.</summary>
/// <remarks>
/// <b>Not durable</b>: the trail is gone when the process ends. Otherwise the same rules as the embedded SQLite store:
/// append-only (no update or delete), idempotent by entry id, one SHA-256 hash chain per service over the same canonical
/// encoding (so the hashes are the ones the file store would compute), an RFC 9162 Merkle tree per chain with signed
/// checkpoints and inclusion/consistency proofs, the same query filters, ordering and keyset cursors, and the audited
/// position recorded with each append. Checkpoints are signed with a key generated for this instance (ECDSA P-256,
/// never written anywhere; <see cref="GetPublicKeyPemAsync"/> gives its public half). Thread-safe: one lock.
/// </remarks>
internal sealed class InMemoryAuditSink : IAuditSink, IAuditProofs
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, AuditEntry> _byId = [];
    private readonly List<AuditEntry> _entries = [];
    private readonly Dictionary<string, ChainState> _chains = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private readonly CheckpointSigner _signer;
    private readonly TimeProvider _time;
    private long? _auditedThrough;

    public InMemoryAuditSink(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _signer = CheckpointSigner.FromPem(key.ExportPkcs8PrivateKeyPem());
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) =>
        Task.FromResult(Append(entries, null));

    public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, Lsn auditedThrough, CancellationToken cancellationToken = default) =>
        Task.FromResult(Append(entries, auditedThrough.Value));

    private int Append(IReadOnlyList<AuditEntry> entries, long? auditedThrough)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            AuditEntryValidation.Validate(entry);
        }

        lock (_gate)
        {
            var inserted = 0;
            foreach (var entry in entries)
            {
                if (_byId.ContainsKey(entry.Id))
                {
                    continue;
                }

                var chain = Chain(entry.Service);
                var stored = entry with
                {
                    Sequence = chain.Sequence + 1,
                    PrevHash = chain.Hash,
                    // A chain never goes back to an older encoding (the verifier refuses that): a sealed entry moves it to 3.
                    EncodingVersion = Math.Max(AuditCanonicalEncoding.LeastVersionOf(entry), chain.Version),
                };
                stored = stored with { Hash = AuditHash.Compute(stored, _scratch, out var leaf) };
                chain.Tree.Append(leaf);
                chain.Sequence = stored.Sequence;
                chain.Hash = stored.Hash;
                chain.Version = stored.EncodingVersion;
                _byId[stored.Id] = stored;
                _entries.Add(stored);
                inserted++;
            }

            if (auditedThrough is { } through)
            {
                _auditedThrough = Math.Max(_auditedThrough ?? 0, through);
            }

            return inserted;
        }
    }

    public Task<Lsn?> GetAuditedThroughAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_auditedThrough is { } through ? new Lsn(through) : (Lsn?)null);
        }
    }

    public Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        lock (_gate)
        {
            return Task.FromResult<IReadOnlySet<Guid>>(ids.Where(_byId.ContainsKey).ToHashSet());
        }
    }

    public Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_byId.GetValueOrDefault(id));
        }
    }

    /// <remarks>The same semantics as the SQLite store: every set filter must match, ordered by (canonical timestamp, id),
    /// newest first unless ascending, keyset cursor strictly after the previous page's last entry, 1–1000 per page.</remarks>
    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 1000);
        var cursor = query.Cursor is null ? (AuditCursor?)null : AuditCursor.Decode(query.Cursor);
        var category = query.Category is { } c ? AuditCategoryNames.ToName(c) : null;
        var from = query.From is { } f ? AuditCanonicalEncoding.FormatTimestamp(f) : null;
        var to = query.To is { } t ? AuditCanonicalEncoding.FormatTimestamp(t) : null;
        List<(string Timestamp, string Id, AuditEntry Entry)> matches;
        lock (_gate)
        {
            matches = [.. _entries
                .Where(e => (query.RequestId is null || e.RequestId == query.RequestId)
                    && (query.DtoType is null || e.DtoType == query.DtoType)
                    && (query.EntityId is null || e.EntityId == query.EntityId)
                    && (query.UserId is null || e.UserId == query.UserId)
                    && (query.Service is null || e.Service == query.Service)
                    && (category is null || AuditCategoryNames.ToName(e.Category) == category)
                    && (query.Operation is null || e.Operation == query.Operation))
                .Select(e => (AuditCanonicalEncoding.FormatTimestamp(e.Timestamp), AuditCanonicalEncoding.FormatId(e.Id), e))];
        }

        IEnumerable<(string Timestamp, string Id, AuditEntry Entry)> page = matches
            .Where(m => (from is null || string.CompareOrdinal(m.Timestamp, from) >= 0) && (to is null || string.CompareOrdinal(m.Timestamp, to) < 0));
        if (cursor is { } after)
        {
            page = page.Where(m =>
            {
                var order = string.CompareOrdinal(m.Timestamp, after.Timestamp) is var byTime && byTime != 0 ? byTime : string.CompareOrdinal(m.Id, after.Id);
                return query.Ascending ? order > 0 : order < 0;
            });
        }

        page = query.Ascending
            ? page.OrderBy(m => m.Timestamp, StringComparer.Ordinal).ThenBy(m => m.Id, StringComparer.Ordinal)
            : page.OrderByDescending(m => m.Timestamp, StringComparer.Ordinal).ThenByDescending(m => m.Id, StringComparer.Ordinal);
        var budget = new AuditPageBudget(query);
        var taken = new List<(string Timestamp, string Id, AuditEntry Entry)>(Math.Min(limit, 128));
        var more = false;
        foreach (var match in page)
        {
            if (taken.Count == limit || !budget.TryAdd(match.Entry))
            {
                more = true;
                break;
            }

            taken.Add(match);
        }

        var entries = taken.ConvertAll(m => m.Entry);
        var next = more ? new AuditCursor(taken[^1].Timestamp, taken[^1].Id).Encode() : null;
        return Task.FromResult(new AuditPage(entries, next));
    }

    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) => VerifyAsync(null, cancellationToken);

    /// <remarks>Recomputes every chain from the stored entries, checks that each stored checkpoint is validly signed and that
    /// its root is the Merkle root recomputed from the entries at its size, and (optionally) that the trail still
    /// contains an external checkpoint's tree.</remarks>
    public Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, CancellationToken cancellationToken = default)
    {
        List<AuditEntry> entries;
        Dictionary<string, List<SignedCheckpoint>> checkpoints;
        lock (_gate)
        {
            entries = [.. _entries.OrderBy(e => e.Service, StringComparer.Ordinal).ThenBy(e => e.Sequence)];
            checkpoints = _chains.ToDictionary(p => p.Key, p => p.Value.Checkpoints.ToList(), StringComparer.Ordinal);
        }

        var verifier = new AuditChainVerifier();
        var trees = new Dictionary<string, MerkleTree>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!verifier.Add(entry))
            {
                return Task.FromResult(verifier.ToResult());
            }

            if (!trees.TryGetValue(entry.Service, out var tree))
            {
                trees[entry.Service] = tree = new MerkleTree();
            }

            tree.Append(verifier.LastLeafHash);
        }

        using var keys = options?.PublicKeyPem is { } pem ? CheckpointVerifier.FromPublicKeyPem(pem) : _signer.CreateVerifier();
        var checkedCount = 0L;
        var all = checkpoints.SelectMany(p => p.Value).ToList();
        if (options?.FromCheckpoint is { } external)
        {
            all.Add(external);
        }

        foreach (var signed in all)
        {
            var checkpoint = signed.Checkpoint;
            checkedCount++;
            var signature = keys.Verify(signed);
            var tree = trees.GetValueOrDefault(checkpoint.ChainId);
            string? reason = !signature.IsValid ? "checkpoint signature does not verify: " + signature.Reason
                : tree is null || tree.Size < checkpoint.TreeSize ? $"the trail holds fewer entries than the checkpoint's tree size {checkpoint.TreeSize} (entries deleted)"
                : tree.RootAt(checkpoint.TreeSize) != checkpoint.RootHash ? $"the Merkle root at tree size {checkpoint.TreeSize} differs from the checkpoint's (entries changed)"
                : null;
            if (reason is not null)
            {
                return Task.FromResult(verifier.ToResult() with
                {
                    IsValid = false,
                    CheckpointsChecked = checkedCount,
                    BrokenChain = checkpoint.ChainId,
                    BrokenCheckpointSize = checkpoint.TreeSize,
                    Reason = reason,
                });
            }
        }

        return Task.FromResult(verifier.ToResult() with { CheckpointsChecked = checkedCount });
    }

    public Task<string> GetPublicKeyPemAsync(CancellationToken cancellationToken = default) => Task.FromResult(_signer.PublicKeyPem);

    // Its key lives and dies with the instance: there is no earlier one.
    public Task<string> GetTrustedPublicKeysPemAsync(CancellationToken cancellationToken = default) =>
        GetPublicKeyPemAsync(cancellationToken);

    public Task<AuditInclusionProof?> GetInclusionProofAsync(Guid entryId, long? treeSize = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(entryId, out var entry))
            {
                return Task.FromResult<AuditInclusionProof?>(null);
            }

            var chain = Chain(entry.Service);
            var index = entry.Sequence - 1;
            SignedCheckpoint? checkpoint;
            long size;
            if (treeSize is { } requested)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requested, index, nameof(treeSize));
                ArgumentOutOfRangeException.ThrowIfGreaterThan(requested, chain.Tree.Size, nameof(treeSize));
                size = requested;
                checkpoint = chain.Checkpoints.LastOrDefault(c => c.Checkpoint.TreeSize == size);
            }
            else
            {
                checkpoint = chain.Checkpoints.Count > 0 && chain.Checkpoints[^1].Checkpoint.TreeSize > index ? chain.Checkpoints[^1] : Checkpoint(chain);
                size = checkpoint.Checkpoint.TreeSize;
            }

            return Task.FromResult<AuditInclusionProof?>(AuditInclusionProof.FromTree(entry, chain.Name, chain.Tree, index, size, checkpoint));
        }
    }

    public Task<AuditConsistencyProof> GetConsistencyProofAsync(string chain, long fromSize, long toSize, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        lock (_gate)
        {
            // Only chains that hold entries: a name asked about is never added (see IAuditProofs).
            var tree = _chains.TryGetValue(chain, out var state) && state.Tree.Size > 0
                ? state.Tree
                : throw new KeyNotFoundException($"The audit store has no chain '{chain}' (no entries, no checkpoint).");
            return Task.FromResult(new AuditConsistencyProof
            {
                Chain = chain,
                Proof = tree.GetConsistencyProof(fromSize, toSize),
                FromRoot = tree.RootAt(fromSize),
                ToRoot = tree.RootAt(toSize),
            });
        }
    }

    public Task<SignedCheckpoint?> CheckpointAsync(string chain, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        lock (_gate)
        {
            return Task.FromResult(_chains.TryGetValue(chain, out var state) && state.Tree.Size > 0 ? Checkpoint(state) : null);
        }
    }

    public Task<IReadOnlyList<SignedCheckpoint>> CheckpointAllAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var signed = new List<SignedCheckpoint>();
            foreach (var state in _chains.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                if (state.Tree.Size > (state.Checkpoints.Count > 0 ? state.Checkpoints[^1].Checkpoint.TreeSize : 0))
                {
                    signed.Add(Checkpoint(state));
                }
            }

            return Task.FromResult<IReadOnlyList<SignedCheckpoint>>(signed);
        }
    }

    public Task<SignedCheckpoint?> GetLatestCheckpointAsync(string chain, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        lock (_gate)
        {
            return Task.FromResult(_chains.TryGetValue(chain, out var state) && state.Checkpoints.Count > 0 ? state.Checkpoints[^1] : null);
        }
    }

    public Task<IReadOnlyList<SignedCheckpoint>> GetLatestCheckpointsAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<SignedCheckpoint>>(
                [.. _chains.Values.OrderBy(s => s.Name, StringComparer.Ordinal).Where(s => s.Checkpoints.Count > 0).Select(s => s.Checkpoints[^1])]);
        }
    }

    public ValueTask DisposeAsync()
    {
        _signer.Dispose();
        return ValueTask.CompletedTask;
    }

    // Caller holds the lock.
    private SignedCheckpoint Checkpoint(ChainState chain)
    {
        var head = chain.Tree.Head;
        if (chain.Checkpoints.Count > 0 && chain.Checkpoints[^1].Checkpoint.TreeSize == head.Size)
        {
            return chain.Checkpoints[^1];
        }

        var signed = _signer.Sign(chain.Name, head.Size, head.Root, _time.GetUtcNow());
        chain.Checkpoints.Add(signed);
        return signed;
    }

    // Caller holds the lock.
    private ChainState Chain(string name)
    {
        if (!_chains.TryGetValue(name, out var chain))
        {
            _chains[name] = chain = new ChainState(name);
        }

        return chain;
    }

    private sealed class ChainState(string name)
    {
        public string Name { get; } = name;

        public MerkleTree Tree { get; } = new();

        public long Sequence { get; set; }

        public string Hash { get; set; } = AuditHash.Genesis;

        public int Version { get; set; }

        public List<SignedCheckpoint> Checkpoints { get; } = [];
    }
}
