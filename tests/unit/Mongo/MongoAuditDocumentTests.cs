using System.Buffers;
using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Audit.Mongo;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo;

/// <summary>The MongoDB audit document: round trip, same hash as the canonical encoding, corrupted input, query filters.</summary>
public sealed class MongoAuditDocumentTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static AuditEntry Linked()
    {
        var entry = new AuditEntry
        {
            Id = Guid.CreateVersion7(),
            Timestamp = new DateTimeOffset(2025, 6, 7, 8, 9, 10, TimeSpan.FromHours(3)).AddTicks(1234567),
            Service = "orders",
            Category = AuditCategory.EntityMutation,
            Operation = "update",
            UserId = "alice",
            DtoType = "Order",
            EntityId = "o-1",
            Before = Json("""{"name":"Zoë ✓","x":[1,2.50,{"y":null}],"big":12345678901234567890}"""),
            After = Json("""{"name":"Zoë","$odd":"key","a.b":1}"""),
            Changes = [new FieldChange("/name", Json("\"Zoë ✓\""), Json("\"Zoë\""))],
            Reason = "naïve \u0001",
            Metadata = new Dictionary<string, string> { ["k"] = "v", ["ключ"] = "значение" },
            RequestId = "req-1",
            Lsn = new Lsn(42),
            Sequence = 1,
            PrevHash = AuditHash.Genesis,
        };
        return entry with { Hash = AuditHash.Compute(entry) };
    }

    [Fact]
    public void An_entry_round_trips_through_bson_bytes_with_the_same_hash()
    {
        var entry = Linked();
        var bytes = MongoAuditDocument.ToBson(entry, new ArrayBufferWriter<byte>()).ToBson();
        var back = MongoAuditDocument.FromBson(BsonSerializer.Deserialize<BsonDocument>(bytes));

        Assert.Equal(entry.Id, back.Id);
        Assert.Equal(entry.Timestamp, back.Timestamp);
        Assert.Equal(entry.Lsn, back.Lsn);
        Assert.Equal(CanonicalJson.ToText(entry.Before!.Value), CanonicalJson.ToText(back.Before!.Value));
        Assert.Equal(AuditCanonicalEncoding.Encode(entry), AuditCanonicalEncoding.Encode(back));
        Assert.Equal(entry.Hash, AuditHash.Compute(back));
        var verifier = new AuditChainVerifier();
        Assert.True(verifier.Add(back));
    }

    [Fact]
    public void A_sealed_entry_round_trips_through_bson_with_its_key_id_and_ciphertext_and_the_same_hash()
    {
        using var key = Nv.Wal.Protection.DataKey.Generate();
        var sealedEntry = AuditEntrySealing.Seal(Linked() with { Hash = string.Empty }, key) with { EncodingVersion = AuditCanonicalEncoding.Version3 };
        sealedEntry = sealedEntry with { Hash = AuditHash.Compute(sealedEntry) };
        var plainInV3 = Linked() with { Sequence = 2, PrevHash = sealedEntry.Hash, EncodingVersion = AuditCanonicalEncoding.Version3 };
        plainInV3 = plainInV3 with { Hash = AuditHash.Compute(plainInV3) };
        var verifier = new AuditChainVerifier();
        foreach (var entry in new[] { sealedEntry, plainInV3 })
        {
            var document = MongoAuditDocument.ToBson(entry, new ArrayBufferWriter<byte>());
            Assert.Equal(3, document["encoding"].ToInt32());
            var back = MongoAuditDocument.FromBson(BsonSerializer.Deserialize<BsonDocument>(document.ToBson()));
            Assert.Equal(entry.KeyId, back.KeyId);
            Assert.Equal(entry.Sealed, back.Sealed);
            Assert.Equal(3, back.EncodingVersion);
            Assert.Equal(entry.Hash, AuditHash.Compute(back));
            Assert.True(verifier.Add(back), verifier.ToResult().Reason);
        }

        var stored = MongoAuditDocument.ToBson(sealedEntry, new ArrayBufferWriter<byte>());
        Assert.True(stored["before"].IsBsonNull); // no plaintext beside the ciphertext
        Assert.True(stored["after"].IsBsonNull);
        Assert.DoesNotContain("Zoë", stored.ToJson(), StringComparison.Ordinal);
        var opened = AuditEntrySealing.Open(MongoAuditDocument.FromBson(stored), key);
        Assert.Equal("Zoë", opened.After!.Value.GetProperty("name").GetString());

        var flipped = (byte[])sealedEntry.Sealed!.Clone();
        flipped[^3] ^= 1;
        stored["sealed"] = new BsonBinaryData(flipped);
        Assert.NotEqual(sealedEntry.Hash, AuditHash.Compute(MongoAuditDocument.FromBson(stored)));
        stored["sealed"] = new BsonBinaryData(sealedEntry.Sealed);
        stored["keyId"] = Guid.NewGuid().ToString("D");
        Assert.NotEqual(sealedEntry.Hash, AuditHash.Compute(MongoAuditDocument.FromBson(stored)));
    }

    [Fact]
    public void Payload_keys_are_kept_as_json_text_never_as_bson_field_names()
    {
        var entry = Linked();
        var document = MongoAuditDocument.ToBson(entry, new ArrayBufferWriter<byte>());
        Assert.Equal(BsonType.String, document["after"].BsonType);
        Assert.Equal("o-1", document["entityId"].AsString);
        Assert.Equal(42L, document["lsn"].AsInt64);
        Assert.Equal(entry.Id.ToString("D"), document["_id"].AsString);
    }

    [Fact]
    public void Nulls_round_trip()
    {
        var entry = Linked() with { Before = null, After = null, UserId = null, DtoType = null, Reason = null, Lsn = null, Changes = [] };
        var back = MongoAuditDocument.FromBson(MongoAuditDocument.ToBson(entry, new ArrayBufferWriter<byte>()));
        Assert.Null(back.Before);
        Assert.Null(back.After);
        Assert.Null(back.UserId);
        Assert.Null(back.Lsn);
        Assert.Empty(back.Changes);
    }

    [Theory]
    [InlineData("timestamp", "yesterday")]
    [InlineData("category", "nonsense")]
    [InlineData("changes", "{not json")]
    [InlineData("sequence", "one")]
    [InlineData("_id", "not-a-guid")]
    public void A_corrupted_document_is_a_format_error(string field, string value)
    {
        var document = MongoAuditDocument.ToBson(Linked(), new ArrayBufferWriter<byte>());
        document[field] = value;
        Assert.Throws<FormatException>(() => MongoAuditDocument.FromBson(document));
    }

    [Fact]
    public void A_missing_field_is_a_format_error()
    {
        var document = MongoAuditDocument.ToBson(Linked(), new ArrayBufferWriter<byte>());
        document.Remove("hash");
        Assert.Throws<FormatException>(() => MongoAuditDocument.FromBson(document));
    }

    [Fact]
    public void Query_filters_bind_values_and_continue_after_the_cursor()
    {
        var query = new AuditQuery { RequestId = "{\"$ne\":null}", Service = "orders", From = DateTimeOffset.UnixEpoch };
        var cursor = new AuditCursor("2025-01-01T00:00:00.0000000Z", "0190a000-0000-7000-8000-000000000000");

        var filter = MongoAuditSink.QueryFilter(query, cursor);

        Assert.Equal(BsonDocument.Parse("""
            { "$and": [
                { "requestId": { "$eq": "{\"$ne\":null}" } },
                { "service": { "$eq": "orders" } },
                { "timestamp": { "$gte": "1970-01-01T00:00:00.0000000Z" } },
                { "$or": [ { "timestamp": { "$lt": "2025-01-01T00:00:00.0000000Z" } },
                           { "timestamp": "2025-01-01T00:00:00.0000000Z", "_id": { "$lt": "0190a000-0000-7000-8000-000000000000" } } ] } ] }
            """), filter);
        Assert.Empty(MongoAuditSink.QueryFilter(new AuditQuery(), null));
    }

    [Fact]
    public void The_chain_index_is_unique_and_the_query_fields_are_indexed()
    {
        var indexes = MongoAuditSink.Indexes().ToList();
        var chain = indexes.Single(i => i.Options.Name == "service_sequence");
        Assert.True(chain.Options.Unique);
        var names = indexes.Select(i => i.Options.Name).ToList();
        foreach (var expected in new[] { "requestId", "entityId_dtoType", "service_timestamp", "timestamp", "userId" })
        {
            Assert.Contains(expected, names);
        }
    }
}
