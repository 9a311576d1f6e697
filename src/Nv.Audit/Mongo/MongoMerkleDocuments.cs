using System.Globalization;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>The MongoDB shapes of the Merkle tree and its checkpoints, next to <c>audit_entries</c> in the audit database.</summary>
/// <remarks>
/// <c>audit_merkle_leaves</c>: <c>{ _id: { c: chain, i: index }, h: BinData(0, 32 bytes) }</c>, leaf i of a chain =
/// <c>SHA-256(0x00 ‖ canonical bytes of the entry with sequence i + 1)</c>, exactly as in the SQLite store. The compound
/// <c>_id</c> makes a leaf's insert idempotent (a retry or a second writer cannot add a second leaf i) and, because BSON
/// compares embedded documents field by field, a chain's leaves are one range of the <c>_id</c> index in index order.
/// <c>audit_checkpoints</c>: <c>{ _id, chain, size, created, text }</c> with the exact signed text
/// (docs/audit-merkle.md) and an index on (chain, size). Both are insert-only, like the entries.
/// </remarks>
internal static class MongoMerkleDocuments
{
    public const string Leaves = "audit_merkle_leaves";

    public const string Checkpoints = "audit_checkpoints";

    /// <summary>The public keys that sign the trail's checkpoints, one document each:
    /// <c>{ _id: key id, publicKey: PEM, registered: time }</c>, inserted (idempotently, by key id) before a key first signs.
    /// Insert-only, like the rest of the audit database.</summary>
    public const string SigningKeys = "audit_signing_keys";

    public static BsonDocument SigningKey(CheckpointSigner signer, DateTimeOffset registered) => new()
    {
        { "_id", signer.KeyId },
        { "publicKey", signer.PublicKeyPem },
        { "registered", registered.ToString(Merkle.Checkpoint.TimestampFormat, CultureInfo.InvariantCulture) },
    };

    /// <summary>The key id and public key PEM of a signing-key document, or null when it is not one (a field missing, or a
    /// PEM that is not a P-256 public key whose id is the document's <c>_id</c>): such a document vouches for nothing.</summary>
    public static (string KeyId, string PublicKeyPem)? ReadSigningKey(BsonDocument document)
    {
        if (document.GetValue("_id", BsonNull.Value) is not BsonString { Value: var id } || document.GetValue("publicKey", BsonNull.Value) is not BsonString { Value: var pem })
        {
            return null;
        }

        try
        {
            using var verifier = CheckpointVerifier.FromPublicKeyPem(pem);
            return verifier.KeyIds.Count == 1 && verifier.KeyId == id ? (id, pem) : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public static BsonDocument Leaf(string chain, long index, MerkleHash hash) => new()
    {
        { "_id", new BsonDocument { { "c", chain }, { "i", index } } },
        { "h", new BsonBinaryData(hash.ToArray(), BsonBinarySubType.Binary) },
    };

    /// <exception cref="FormatException">The document is not a leaf (a field missing, a hash not 32 bytes).</exception>
    public static (string Chain, long Index, MerkleHash Hash) ReadLeaf(BsonDocument document)
    {
        try
        {
            var id = document["_id"].AsBsonDocument;
            var bytes = document["h"].AsBsonBinaryData.Bytes;
            return bytes.Length == MerkleHash.Size
                ? (id["c"].AsString, Integer(id["i"], "leaf index"), MerkleHash.FromBytes(bytes))
                : throw new FormatException($"leaf hash of {bytes.Length} bytes");
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidCastException)
        {
            throw new FormatException("A Merkle leaf document does not parse: " + ex.Message, ex);
        }
    }

    /// <summary>Leaves <paramref name="from"/> and after of <paramref name="chain"/>: one range of the <c>_id</c> index.</summary>
    public static BsonDocument LeavesFrom(string chain, long from) => new("_id", new BsonDocument
    {
        { "$gte", new BsonDocument { { "c", chain }, { "i", from } } },
        { "$lte", new BsonDocument { { "c", chain }, { "i", long.MaxValue } } },
    });

    public static BsonDocument LeafOrder { get; } = new("_id", 1);

    public static BsonDocument Checkpoint(SignedCheckpoint signed) => new()
    {
        { "_id", string.Create(CultureInfo.InvariantCulture, $"{signed.Checkpoint.ChainId}:{signed.Checkpoint.TreeSize}:{signed.Checkpoint.Timestamp.UtcTicks}") },
        { "chain", signed.Checkpoint.ChainId },
        { "size", signed.Checkpoint.TreeSize },
        { "created", signed.Checkpoint.Timestamp.ToString(Merkle.Checkpoint.TimestampFormat, CultureInfo.InvariantCulture) },
        { "text", signed.ToText() },
    };

    /// <summary>The stored checkpoint's chain and size columns and its parsed text.</summary>
    /// <exception cref="CheckpointFormatException">The text is not a checkpoint.</exception>
    /// <exception cref="FormatException">A field is missing or of the wrong type.</exception>
    public static (string Chain, long Size, SignedCheckpoint Signed) ReadCheckpoint(BsonDocument document)
    {
        try
        {
            return (document["chain"].AsString, Integer(document["size"], "checkpoint size"), SignedCheckpoint.Parse(document["text"].AsString));
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidCastException)
        {
            throw new FormatException("A checkpoint document does not parse: " + ex.Message, ex);
        }
    }

    // An integer stored as one (Int64, or Int32 from another writer); anything else is a damaged document.
    private static long Integer(BsonValue value, string what) =>
        value.IsInt64 || value.IsInt32 ? value.ToInt64() : throw new FormatException($"{what} is a {value.BsonType}, not an integer");

    /// <summary>A chain's newest checkpoint first: the largest tree size, the latest of those.</summary>
    public static BsonDocument NewestFirst { get; } = new() { { "size", -1 }, { "created", -1 } };

    public static CreateIndexModel<BsonDocument> CheckpointIndex { get; } =
        new(new BsonDocument { { "chain", 1 }, { "size", 1 } }, new CreateIndexOptions { Name = "chain_size" });
}
