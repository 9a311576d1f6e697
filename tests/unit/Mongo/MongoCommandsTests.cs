using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo;

/// <summary>What the MongoDB writer sends, rendered to BSON without a server: guards, upserts, tombstones, write concerns.</summary>
public sealed class MongoCommandsTests
{
    private static readonly RenderArgs<BsonDocument> Args = new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);

    internal static WalRecord Record(long lsn, WalOperation operation, string json = "{}", string entityId = "o1") => new()
    {
        Id = new Guid(0x01900000, 0, 0x7000, BitConverter.GetBytes(lsn)),
        Lsn = new Lsn(lsn),
        Service = "tests",
        Version = 1,
        Timestamp = DateTimeOffset.UnixEpoch,
        Operation = operation,
        DtoType = "Order",
        EntityId = entityId,
        Payload = operation == WalOperation.Delete ? default : JsonDocument.Parse(json).RootElement.Clone(),
        ReplayKey = "test:tests:1:Order:" + entityId,
        RequestId = "req-" + lsn,
    };

    [Fact]
    public void The_filter_guards_on_a_lower_stored_lsn_and_pins_the_version_read()
    {
        var record = Record(7, WalOperation.Update);
        var model = MongoCommands.EntityWrite(record, MongoJson.ToBson(record.Payload), expectedWalId: "prev-wal-id");

        var filter = model.Filter.Render(Args);

        Assert.Equal(BsonDocument.Parse("""{ "_id": "o1", "_nv.lsn": { "$lt": NumberLong(7) }, "_nv.walId": "prev-wal-id" }"""), filter);
        Assert.True(model.IsUpsert);
    }

    [Fact]
    public void A_write_to_a_missing_slot_is_an_upsert_guarded_only_by_the_lsn()
    {
        var record = Record(3, WalOperation.Create, """{"total":10}""");
        var model = MongoCommands.EntityWrite(record, MongoJson.ToBson(record.Payload), expectedWalId: null);

        Assert.Equal(BsonDocument.Parse("""{ "_id": "o1", "_nv.lsn": { "$lt": NumberLong(3) } }"""), model.Filter.Render(Args));
        Assert.True(model.IsUpsert);
        var update = model.Update.Render(Args).AsBsonDocument;
        Assert.Equal(BsonDocument.Parse($$"""
            { "$set": { "doc": { "total": 10 }, "_nv.lsn": NumberLong(3), "_nv.replayKey": "test:tests:1:Order:o1",
                        "_nv.walId": "{{MongoCommands.FormatId(record.Id)}}", "_nv.deleted": false } }
            """), update);
    }

    [Fact]
    public void A_delete_writes_a_tombstone_that_keeps_the_lsn()
    {
        var record = Record(9, WalOperation.Delete);
        var update = MongoCommands.EntityWrite(record, null, "w").Update.Render(Args).AsBsonDocument["$set"].AsBsonDocument;

        Assert.Equal(BsonNull.Value, update["doc"]);
        Assert.True(update["_nv.deleted"].AsBoolean);
        Assert.Equal(9L, update["_nv.lsn"].AsInt64);
    }

    [Fact]
    public void Payload_keys_stay_under_doc_and_never_become_operators_or_guard_fields()
    {
        var record = Record(2, WalOperation.Update, """{"_id":"evil","_nv":{"lsn":999999},"nested":{"_nv":1}}""");
        var update = MongoCommands.EntityUpdate(record, MongoJson.ToBson(record.Payload));

        Assert.Equal(["$set"], update.Names);
        var set = update["$set"].AsBsonDocument;
        Assert.Equal(["doc", "_nv.lsn", "_nv.replayKey", "_nv.walId", "_nv.deleted"], set.Names);
        Assert.Equal(2L, set["_nv.lsn"].AsInt64);
        Assert.Equal("evil", set["doc"]["_id"].AsString);
    }

    [Theory]
    [InlineData("""{"$set":{"x":1}}""")]
    [InlineData("""{"a":{"$where":"sleep(1000)"}}""")]
    [InlineData("""{"a.b":1}""")]
    [InlineData("""{"list":[{"ok":1},{"$gt":""}]}""")]
    [InlineData("""{"nul\u0000":1}""")]
    [InlineData("""{"a":1,"a":2}""")]
    public void Payload_keys_mongo_would_interpret_are_refused(string json)
    {
        var payload = JsonDocument.Parse(json).RootElement;
        Assert.Throws<ArgumentException>(() => MongoJson.ToBson(payload));
    }

    [Fact]
    public void Writes_are_journaled_and_majority_acknowledged_on_a_replica_set()
    {
        var standalone = MongoCommands.WriteConcernFor(MongoTopology.Standalone, "auto", TimeSpan.FromSeconds(30)).ToBsonDocument();
        var replicaSet = MongoCommands.WriteConcernFor(MongoTopology.ReplicaSet, "auto", TimeSpan.FromSeconds(30)).ToBsonDocument();
        Assert.Equal(1, standalone["w"].AsInt32);
        Assert.True(standalone["j"].AsBoolean);
        Assert.Equal("majority", replicaSet["w"].AsString);
        Assert.True(replicaSet["j"].AsBoolean);
        Assert.True(MongoCommands.Ordered.IsOrdered);
    }

    [Fact]
    public void Resolutions_are_keyed_by_lsn_and_applied_ones_start_pending()
    {
        var record = Record(5, WalOperation.Update);
        var before = BsonDocument.Parse("""{ "v": 1 }""");

        var pending = MongoCommands.Resolution(record, ApplyStatus.Applied, RejectReason.None, before, pending: true);
        var rejected = MongoCommands.Resolution(record, ApplyStatus.Rejected, RejectReason.NotFound, null, pending: false);

        Assert.Equal(5L, pending["_id"].AsInt64);
        Assert.Equal("req-5", pending["requestId"].AsString);
        Assert.Equal((int)ApplyStatus.Applied, pending["status"].AsInt32);
        Assert.Equal(before, pending["before"]);
        Assert.True(pending["pending"].AsBoolean);
        Assert.False(rejected.Contains("pending"));
        Assert.Equal(BsonNull.Value, rejected["before"]);

        var read = MongoDbWriterReadResolution(pending);
        Assert.Equal(new Lsn(5), read.Lsn);
        Assert.Equal(record.Id, read.WalId);
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse("""{"v":1}""").RootElement, read.Before!.Value));
    }

    [Fact]
    public void Readers_never_see_pending_or_unrecorded_resolutions_and_the_watermark_only_moves_forward()
    {
        Assert.Equal(BsonDocument.Parse("""{ "_id": { "$gt": NumberLong(3), "$lte": NumberLong(9) }, "pending": { "$exists": false }, "unrecorded": { "$exists": false } }"""),
            MongoCommands.ResolutionsBetween(3, 9));
        Assert.Equal(BsonDocument.Parse("""{ "requestId": { "$in": ["r", "s"] }, "pending": { "$exists": false }, "unrecorded": { "$exists": false } }"""), MongoCommands.ResolutionsOfRequests(["r", "s"]));
        Assert.Equal(BsonDocument.Parse("""{ "$unset": { "pending": "", "unrecorded": "" } }"""), MongoCommands.ClearPending);
        Assert.Equal(BsonDocument.Parse("""{ "$max": { "value": NumberLong(12) } }"""), MongoCommands.AdvanceResolvedThrough(12));
        Assert.Equal(BsonDocument.Parse("""{ "_nv.deleted": true, "_nv.lsn": { "$lte": NumberLong(4) } }"""), MongoCommands.TombstonesUpTo(4));
    }

    private static RecordResolution MongoDbWriterReadResolution(BsonDocument document) =>
        (RecordResolution)typeof(MongoDbWriter).GetMethod("ReadResolution", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!
            .Invoke(null, [document])!;
}
