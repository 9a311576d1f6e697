using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo;

/// <summary>The MongoDB idempotency collection, rendered to BSON without a server: upsert, lookup, TTL index, migration.</summary>
public sealed class MongoRequestsTests
{
    private static readonly RenderArgs<BsonDocument> Args = new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);
    private const string Fingerprint = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    private static WalRecord Record() => MongoCommandsTests.Record(7, WalOperation.Update, """{"a":1}""") with
    {
        UserId = "alice",
        Fingerprint = Fingerprint,
        Timestamp = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public void An_outcome_is_an_upsert_keyed_by_caller_and_request_id_that_never_replaces_the_first()
    {
        var model = MongoRequests.Record(Record(), ApplyStatus.Rejected, RejectReason.NotFound);

        Assert.True(model.IsUpsert);
        Assert.Equal(BsonDocument.Parse("""{ "_id": { "s": "alice", "r": "req-7" } }"""), model.Filter.Render(Args));
        var update = model.Update.Render(Args).AsBsonDocument;
        var expected = BsonDocument.Parse("""
            { "$setOnInsert": { "lsn": NumberLong(7), "fingerprint": BinData(0, "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="), "op": 2,
              "dtoType": "Order", "entityId": "o1", "status": 3, "rejectReason": 2, "createdAt": ISODate("2026-12-01T10:00:00Z") } }
            """);
        Assert.Equal(expected, update);
    }

    [Fact]
    public void A_record_without_a_user_or_fingerprint_is_stored_in_the_anonymous_scope()
    {
        var model = MongoRequests.Record(Record() with { UserId = null, Fingerprint = null }, ApplyStatus.Applied, RejectReason.None);

        Assert.Equal(BsonDocument.Parse("""{ "_id": { "s": "", "r": "req-7" } }"""), model.Filter.Render(Args));
        Assert.Equal(BsonNull.Value, model.Update.Render(Args)["$setOnInsert"]["fingerprint"]);
    }

    [Fact]
    public void A_lookup_asks_for_each_callers_outcome_and_a_migrated_unscoped_one()
    {
        var filter = MongoRequests.Lookup([new RequestKey("alice", "r1"), new RequestKey("", "r2")]);

        Assert.Equal(BsonDocument.Parse("""
            { "_id": { "$in": [ { "s": "alice", "r": "r1" }, { "s": null, "r": "r1" }, { "s": "", "r": "r2" }, { "s": null, "r": "r2" } ] } }
            """), filter);
    }

    [Fact]
    public void The_ttl_index_expires_outcomes_after_the_retention_and_collmod_changes_it()
    {
        var index = MongoRequests.TtlIndex(TimeSpan.FromHours(24));

        Assert.Equal(BsonDocument.Parse("""{ "createdAt": 1 }"""), index.Keys.Render(Args));
        Assert.Equal(TimeSpan.FromHours(24), index.Options.ExpireAfter);
        Assert.Equal(MongoRequests.TtlIndexName, index.Options.Name);
        Assert.Equal(BsonDocument.Parse("""{ "collMod": "_nv_requests", "index": { "name": "createdAt_ttl", "expireAfterSeconds": NumberLong(3600) } }"""),
            MongoRequests.CollMod(TimeSpan.FromHours(1)));
        Assert.Equal(BsonDocument.Parse("""{ "createdAt": { "$lt": ISODate("2026-12-01T10:00:00Z") } }"""),
            MongoRequests.CreatedBefore(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void An_outcome_round_trips_through_bson_bytes()
    {
        var model = MongoRequests.Record(Record(), ApplyStatus.Applied, RejectReason.None);
        var document = new BsonDocument("_id", model.Filter.Render(Args)["_id"]).AddRange(model.Update.Render(Args)["$setOnInsert"].AsBsonDocument);
        var read = MongoRequests.Read(BsonSerializer.Deserialize<BsonDocument>(document.ToBson()));

        Assert.Equal(("alice", "req-7", new Lsn(7), ApplyStatus.Applied, Fingerprint), (read.Scope, read.RequestId, read.Lsn, read.Status, read.Fingerprint));
        Assert.Equal((WalOperation.Update, "Order", "o1"), (read.Operation, read.DtoType, read.EntityId));
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero), read.CreatedAt);
    }

    [Fact]
    public void A_rejected_batchs_failed_item_and_an_audit_events_record_id_round_trip_and_older_outcomes_have_neither()
    {
        var batch = MongoRequests.Record(Record() with { Operation = WalOperation.Batch }, ApplyStatus.Rejected, RejectReason.AlreadyExists, failedItem: 2);
        var @event = MongoRequests.Record(Record() with { Operation = WalOperation.AuditEvent }, ApplyStatus.Applied, RejectReason.None);
        Assert.Equal(2, batch.Update.Render(Args)["$setOnInsert"]["failedItem"].AsInt32);
        Assert.Equal(BsonBinarySubType.UuidStandard, @event.Update.Render(Args)["$setOnInsert"]["recordId"].AsBsonBinaryData.SubType);

        Assert.Equal(((int?)2, (Guid?)null), Answers(RoundTrip(batch)));
        Assert.Equal(((int?)null, (Guid?)Record().Id), Answers(RoundTrip(@event)));
        Assert.Equal(((int?)null, (Guid?)null), Answers(RoundTrip(MongoRequests.Record(Record(), ApplyStatus.Applied, RejectReason.None))));

        static (int?, Guid?) Answers(RequestOutcome outcome) => (outcome.FailedItem, outcome.RecordId);
    }

    private static RequestOutcome RoundTrip(UpdateOneModel<BsonDocument> model)
    {
        var document = new BsonDocument("_id", model.Filter.Render(Args)["_id"]).AddRange(model.Update.Render(Args)["$setOnInsert"].AsBsonDocument);
        return MongoRequests.Read(BsonSerializer.Deserialize<BsonDocument>(document.ToBson()));
    }

    [Theory]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "op": 2, "status": 1, "rejectReason": 0, "createdAt": ISODate("2026-01-01T00:00:00Z"), "failedItem": 0 }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "op": 4, "status": 3, "rejectReason": 2, "createdAt": ISODate("2026-01-01T00:00:00Z"), "failedItem": -1 }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "op": 4, "status": 3, "rejectReason": 2, "createdAt": ISODate("2026-01-01T00:00:00Z"), "failedItem": "one" }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "op": 2, "status": 1, "rejectReason": 0, "createdAt": ISODate("2026-01-01T00:00:00Z"), "recordId": UUID("01234567-89ab-cdef-0123-456789abcdef") }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "op": 5, "status": 1, "rejectReason": 0, "createdAt": ISODate("2026-01-01T00:00:00Z"), "recordId": BinData(0, "AQID") }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "fingerprint": BinData(0, "AQID"), "status": 1, "rejectReason": 0, "createdAt": ISODate("2026-01-01T00:00:00Z") }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "fingerprint": null, "status": 99, "rejectReason": 0, "createdAt": ISODate("2026-01-01T00:00:00Z") }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "fingerprint": "text", "status": 1, "rejectReason": 0, "createdAt": ISODate("2026-01-01T00:00:00Z") }""")]
    [InlineData("""{ "_id": { "s": "a", "r": "r" }, "lsn": 1, "status": 1, "rejectReason": 0 }""")]
    [InlineData("""{ "_id": "not a key", "lsn": 1, "status": 1, "rejectReason": 0, "createdAt": ISODate("2026-01-01T00:00:00Z") }""")]
    public void A_damaged_outcome_document_is_reported_as_corruption(string json)
    {
        var failure = Assert.Throws<DbWriterException>(() => MongoRequests.Read(BsonDocument.Parse(json)));
        Assert.Equal(DbErrorClass.Corruption, failure.ErrorClass);
    }

    [Fact]
    public void Migrated_outcomes_come_from_final_resolutions_the_lowest_lsn_of_each_request_and_never_replace_one()
    {
        var stages = MongoRequests.LegacyMigration(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

        Assert.Equal(BsonDocument.Parse("""{ "$match": { "pending": { "$exists": false }, "unrecorded": { "$exists": false } } }"""), stages[0]);
        Assert.Equal(BsonDocument.Parse("""{ "$sort": { "_id": -1 } }"""), stages[1]);
        Assert.Equal("$last", stages[2]["$group"]["lsn"].AsBsonDocument.Names.Single());
        Assert.Equal(BsonDocument.Parse("""{ "s": { "$literal": null }, "r": "$requestId" }"""), stages[2]["$group"]["_id"]);
        Assert.Equal(BsonDocument.Parse("""{ "$merge": { "into": "_nv_requests", "on": "_id", "whenMatched": "keepExisting", "whenNotMatched": "insert" } }"""),
            stages[^1]);
    }
}
