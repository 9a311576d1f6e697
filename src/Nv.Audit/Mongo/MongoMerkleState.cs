using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>What the MongoDB audit store keeps in memory for its Merkle trees (see <c>MongoAuditSink.Merkle.cs</c>).</summary>
/// <remarks>Everything here is guarded by <see cref="Gate"/>, which is not the append gate: catching a tree up with the
/// entries reads and writes other collections and must not hold appends back.</remarks>
internal sealed class MongoMerkleState : IDisposable
{
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public Dictionary<string, MongoChainTree> Chains { get; } = new(StringComparer.Ordinal);

    public IMongoCollection<BsonDocument>? Leaves { get; set; }

    public IMongoCollection<BsonDocument>? Checkpoints { get; set; }

    /// <summary><c>audit_signing_keys</c>: the public keys that sign this trail's checkpoints.</summary>
    public IMongoCollection<BsonDocument>? SigningKeys { get; set; }

    /// <summary>Whether the collections, the signer (or why there is none) and the background pass are set up.</summary>
    public bool Ready { get; set; }

    /// <summary>The key this process signs with; null when it signs nothing (read-only, or see <see cref="Refusal"/>).</summary>
    public CheckpointSigner? Signer { get; set; }

    /// <summary>Why this process signs nothing, when it is not read-only: its key is not among the trail's signing keys.</summary>
    public string? Refusal { get; set; }

    public CancellationTokenSource? Stop { get; set; }

    public Task? Loop { get; set; }

    public void Dispose()
    {
        Stop?.Cancel();
        Stop?.Dispose();
        Signer?.Dispose();
        Gate.Dispose();
    }
}

/// <summary>One chain's tree as far as its leaves are computed, with the hash the next entry must link to.</summary>
internal sealed class MongoChainTree(string name, MerkleTree tree, string lastHash)
{
    public string Name { get; } = name;

    public MerkleTree Tree { get; } = tree;

    /// <summary>The hash of the entry whose leaf is the tree's last (64 zeros for an empty tree).</summary>
    public string LastHash { get; set; } = lastHash;

    public SignedCheckpoint? Latest { get; set; }

    public DateTimeOffset LastCheckpointAt { get; set; }
}
