using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using Nv.Audit.Merkle;
using Nv.Audit.Mongo;

namespace Nv.Unit.Tests.Mongo;

/// <summary>The MongoDB documents of the Merkle tree, its checkpoints and their signing keys, checked at the BSON level without a server: they
/// round-trip through BSON bytes, damaged ones are refused, and a chain's leaves are one ordered range of the _id index.</summary>
public sealed class MongoMerkleDocumentsTests
{
    private static BsonDocument ThroughBytes(BsonDocument document) => BsonSerializer.Deserialize<BsonDocument>(document.ToBson());

    private static readonly MerkleHash Hash = MerkleHasher.HashLeaf([1, 2, 3]);

    [Fact]
    public void A_leaf_round_trips_through_BSON_bytes()
    {
        var document = ThroughBytes(MongoMerkleDocuments.Leaf("orders", 41, Hash));

        Assert.Equal(["_id", "h"], document.Names);
        Assert.Equal((BsonType.String, BsonType.Int64), (document["_id"]["c"].BsonType, document["_id"]["i"].BsonType));
        Assert.Equal((BsonBinarySubType.Binary, 32), (document["h"].AsBsonBinaryData.SubType, document["h"].AsBsonBinaryData.Bytes.Length));
        Assert.Equal(("orders", 41L, Hash), MongoMerkleDocuments.ReadLeaf(document));
    }

    [Fact]
    public void A_damaged_leaf_is_refused()
    {
        var shortHash = MongoMerkleDocuments.Leaf("orders", 1, Hash);
        shortHash["h"] = new BsonBinaryData(new byte[31]);
        Assert.Throws<FormatException>(() => MongoMerkleDocuments.ReadLeaf(shortHash));
        Assert.Throws<FormatException>(() => MongoMerkleDocuments.ReadLeaf(new BsonDocument("h", new BsonBinaryData(new byte[32]))));
        var stringIndex = MongoMerkleDocuments.Leaf("orders", 1, Hash);
        stringIndex["_id"]["i"] = "1";
        Assert.Throws<FormatException>(() => MongoMerkleDocuments.ReadLeaf(stringIndex));
    }

    [Fact]
    public void A_chains_leaves_are_one_range_of_the_id_index_in_index_order()
    {
        var range = MongoMerkleDocuments.LeavesFrom("orders", 5);
        Assert.Equal("""{ "_id" : { "$gte" : { "c" : "orders", "i" : 5 }, "$lte" : { "c" : "orders", "i" : 9223372036854775807 } } }""",
            range.ToJson());
        Assert.Equal(BsonType.Int64, range["_id"]["$gte"]["i"].BsonType);
        var low = range["_id"]["$gte"].AsBsonDocument;
        var high = range["_id"]["$lte"].AsBsonDocument;
        bool Inside(string chain, long index) =>
            MongoMerkleDocuments.Leaf(chain, index, Hash)["_id"].AsBsonDocument is var id && id.CompareTo(low) >= 0 && id.CompareTo(high) <= 0;

        Assert.True(Inside("orders", 5));
        Assert.True(Inside("orders", 1L << 40));
        Assert.False(Inside("orders", 4));
        Assert.False(Inside("orders-2", 5)); // a chain whose name starts the same is another range
        Assert.False(Inside("order", 7));
        Assert.True(MongoMerkleDocuments.Leaf("orders", 9, Hash)["_id"].AsBsonDocument.CompareTo(MongoMerkleDocuments.Leaf("orders", 10, Hash)["_id"].AsBsonDocument) < 0);
    }

    [Fact]
    public void A_checkpoint_round_trips_and_an_edited_one_does_not_parse()
    {
        using var signer = CheckpointSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var signed = signer.Sign("orders", 12, Hash, new DateTimeOffset(2026, 12, 1, 10, 0, 0, 123, TimeSpan.Zero));

        var document = ThroughBytes(MongoMerkleDocuments.Checkpoint(signed));
        var (chain, size, back) = MongoMerkleDocuments.ReadCheckpoint(document);

        Assert.Equal(("orders", 12L, signed), (chain, size, back));
        Assert.Equal("2026-12-01T10:00:00.123Z", document["created"].AsString);
        document["text"] = signed.ToText().Replace("size: 12", "size: 012", StringComparison.Ordinal);
        Assert.Throws<CheckpointFormatException>(() => MongoMerkleDocuments.ReadCheckpoint(document));
        Assert.Throws<FormatException>(() => MongoMerkleDocuments.ReadCheckpoint(new BsonDocument("chain", "orders")));
        Assert.Equal("""{ "size" : -1, "created" : -1 }""", MongoMerkleDocuments.NewestFirst.ToJson());
    }

    [Fact]
    public void A_signing_key_round_trips_and_one_that_is_not_its_key_vouches_for_nothing()
    {
        using var signer = CheckpointSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var document = ThroughBytes(MongoMerkleDocuments.SigningKey(signer, new DateTimeOffset(2026, 12, 1, 10, 0, 0, 123, TimeSpan.Zero)));

        Assert.Equal(["_id", "publicKey", "registered"], document.Names);
        Assert.Equal("2026-12-01T10:00:00.123Z", document["registered"].AsString);
        Assert.Equal((signer.KeyId, signer.PublicKeyPem), MongoMerkleDocuments.ReadSigningKey(document));

        using var other = CheckpointSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var relabelled = document.DeepClone().AsBsonDocument;
        relabelled["publicKey"] = other.PublicKeyPem; // another key under this key's id
        Assert.Null(MongoMerkleDocuments.ReadSigningKey(relabelled));
        var garbled = document.DeepClone().AsBsonDocument;
        garbled["publicKey"] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        Assert.Null(MongoMerkleDocuments.ReadSigningKey(garbled));
        Assert.Null(MongoMerkleDocuments.ReadSigningKey(new BsonDocument("_id", signer.KeyId)));
        Assert.Null(MongoMerkleDocuments.ReadSigningKey(new BsonDocument { { "_id", 7 }, { "publicKey", signer.PublicKeyPem } }));
    }
}
