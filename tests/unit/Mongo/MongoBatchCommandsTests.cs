using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo;

/// <summary>What the MongoDB writer sends for a batch record, rendered to BSON without a server: the transaction's
/// concerns, each item's guarded upsert, the batch resolution (round trip and damaged input) and the standalone refusal.</summary>
public sealed class MongoBatchCommandsTests
{
    private static readonly RenderArgs<BsonDocument> Args = new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);

    private static WalRecord Batch() => new()
    {
        Id = new Guid(0x01900000, 0, 0x7000, BitConverter.GetBytes(9L)),
        Lsn = new Lsn(9),
        Service = "tests",
        Version = 0,
        Timestamp = DateTimeOffset.UnixEpoch,
        Operation = WalOperation.Batch,
        DtoType = "",
        EntityId = "",
        Payload = default,
        ReplayKey = "",
        RequestId = "batch-9",
        Items =
        [
            new WalBatchItem
            {
                Id = new Guid(0x01910000, 0, 0x7000, BitConverter.GetBytes(9L)), Operation = WalOperation.Create, Version = 2, DtoType = "Order",
                EntityId = "o-1", Payload = JsonDocument.Parse("""{"total":10}""").RootElement.Clone(), ReplayKey = "test:tests:2:Order:o-1",
            },
            new WalBatchItem
            {
                Id = new Guid(0x01910001, 0, 0x7000, BitConverter.GetBytes(9L)), Operation = WalOperation.Delete, Version = 1, DtoType = "Stock",
                EntityId = "s-9", Payload = default, ReplayKey = "test:tests:1:Stock:s-9", ExpectedLsn = new Lsn(4),
            },
        ],
    };

    [Fact]
    public void A_batch_runs_in_a_snapshot_transaction_committed_with_the_writers_write_concern()
    {
        var options = MongoBatchCommands.Transaction(MongoCommands.WriteConcernFor(MongoTopology.ReplicaSet, "dc-east", TimeSpan.FromSeconds(10)));
        Assert.Equal(ReadConcern.Snapshot, options.ReadConcern);
        Assert.Equal(ReadPreference.Primary, options.ReadPreference);
        Assert.Equal(BsonDocument.Parse("""{ "w": "dc-east", "wtimeout": 10000, "j": true }"""), options.WriteConcern!.ToBsonDocument());
    }

    [Fact]
    public void Each_item_is_the_guarded_upsert_of_its_own_record_at_the_batch_lsn()
    {
        var items = Batch().EntityChanges();
        var create = MongoCommands.EntityWrite(items[0], MongoJson.ToBson(items[0].Payload), expectedWalId: null);
        Assert.Equal(BsonDocument.Parse("""{ "_id": "o-1", "_nv.lsn": { "$lt": NumberLong(9) } }"""), create.Filter.Render(Args));
        Assert.Equal(BsonDocument.Parse($$"""
            { "$set": { "doc": { "total": 10 }, "_nv.lsn": NumberLong(9), "_nv.replayKey": "test:tests:2:Order:o-1",
                        "_nv.walId": "{{MongoCommands.FormatId(items[0].Id)}}", "_nv.deleted": false } }
            """), create.Update.Render(Args).AsBsonDocument);

        var delete = MongoCommands.EntityWrite(items[1], null, expectedWalId: "prev");
        Assert.Equal(BsonDocument.Parse("""{ "_id": "s-9", "_nv.lsn": { "$lt": NumberLong(9) }, "_nv.walId": "prev" }"""), delete.Filter.Render(Args));
        Assert.Equal(BsonDocument.Parse($$"""
            { "$set": { "doc": null, "_nv.lsn": NumberLong(9), "_nv.replayKey": "test:tests:1:Stock:s-9",
                        "_nv.walId": "{{MongoCommands.FormatId(items[1].Id)}}", "_nv.deleted": true } }
            """), delete.Update.Render(Args).AsBsonDocument);
    }

    [Fact]
    public void An_applied_batch_resolution_keeps_each_items_before_image_and_round_trips()
    {
        var record = Batch();
        var decision = new BatchDecision(ApplyStatus.Applied, RejectReason.None, null, [ApplyStatus.Applied, ApplyStatus.Applied], null);
        var document = MongoBatchCommands.Resolution(record, decision, [null, BsonDocument.Parse("""{ "qty": 5 }""")]);

        Assert.Equal(BsonDocument.Parse($$"""
            { "_id": NumberLong(9), "walId": "{{MongoCommands.FormatId(record.Id)}}", "requestId": "batch-9", "status": 1,
              "rejectReason": 0, "before": null, "failedItem": null, "items": [ null, { "qty": 5 } ] }
            """), document);

        var read = MongoDbWriter.ReadResolution(BsonSerializer.Deserialize<BsonDocument>(document.ToBson()));
        Assert.Equal((new Lsn(9), record.Id, "batch-9", ApplyStatus.Applied, (int?)null), (read.Lsn, read.WalId, read.RequestId, read.Status, read.FailedItem));
        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied], read.Items!.Select(i => i.Status));
        Assert.Null(read.Items![0].Before);
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse("""{"qty":5}""").RootElement, read.Items![1].Before!.Value));
    }

    [Fact]
    public void A_rejected_batch_resolution_names_the_failed_item_and_a_superseded_item_is_false()
    {
        var record = Batch();
        var rejected = MongoBatchCommands.Resolution(record,
            new BatchDecision(ApplyStatus.Rejected, RejectReason.PreconditionFailed, 1, [ApplyStatus.Applied, ApplyStatus.Rejected], 6), [null, null]);
        Assert.Equal(1, rejected["failedItem"].AsInt32);
        Assert.Equal(BsonNull.Value, rejected["items"]);
        var read = MongoDbWriter.ReadResolution(rejected);
        Assert.Equal((ApplyStatus.Rejected, RejectReason.PreconditionFailed, (int?)1), (read.Status, read.RejectReason, read.FailedItem));
        Assert.Null(read.Items);

        var superseded = MongoBatchCommands.Resolution(record,
            new BatchDecision(ApplyStatus.Applied, RejectReason.None, null, [ApplyStatus.AlreadyApplied, ApplyStatus.Applied], null), [null, null]);
        Assert.Equal(BsonDocument.Parse("""{ "items": [ false, null ] }""")["items"], superseded["items"]);
        Assert.Equal([ApplyStatus.AlreadyApplied, ApplyStatus.Applied], MongoDbWriter.ReadResolution(superseded).Items!.Select(i => i.Status));
    }

    [Theory]
    [InlineData("""{ "items": "not an array" }""")]
    [InlineData("""{ "items": [] }""")]
    [InlineData("""{ "items": [ 1 ] }""")]
    [InlineData("""{ "items": [ true ] }""")]
    public void A_damaged_batch_resolution_is_refused(string items)
    {
        var document = MongoBatchCommands.Resolution(Batch(),
            new BatchDecision(ApplyStatus.Applied, RejectReason.None, null, [ApplyStatus.Applied, ApplyStatus.Applied], null), [null, null]);
        document["items"] = BsonDocument.Parse(items)["items"];
        Assert.Throws<FormatException>(() => MongoDbWriter.ReadResolution(document));
    }

    [Fact]
    public void A_single_record_resolution_has_no_batch_part()
    {
        var single = MongoCommands.Resolution(MongoCommandsTests.Record(3, WalOperation.Create), ApplyStatus.Applied, RejectReason.None, null, pending: false);
        var read = MongoDbWriter.ReadResolution(single);
        Assert.Null(read.Items);
        Assert.Null(read.FailedItem);
    }

    [Fact]
    public void A_standalone_server_refuses_batches_in_one_line_naming_the_fix_and_no_secret()
    {
        var message = MongoBatchCommands.StandaloneRefusal("db.example:27017", "nv");
        Assert.DoesNotContain('\n', message);
        Assert.Contains("standalone", message, StringComparison.Ordinal);
        Assert.Contains("replica set", message, StringComparison.Ordinal);
        Assert.Contains("db.example:27017", message, StringComparison.Ordinal);
    }
}
