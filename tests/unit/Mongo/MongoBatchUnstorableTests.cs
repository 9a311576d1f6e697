using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>A batch record MongoDB cannot hold is rejected as unstorable (naming the item), as a single record is and as
/// SQLite rejects one, and the writer goes on: an item over MongoDB's limits or of a reserved type, a slot holding a
/// document Nv did not write, a document the server refuses inside the batch's transaction. Driven through the fake
/// server's sessions (a transaction whose abort puts every collection back).</summary>
public sealed class MongoBatchUnstorableTests
{
    private const string ReplicaSet = """{ "ok": 1, "isWritablePrimary": true, "setName": "rs0" }""";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WalBatchItem Item(WalOperation operation, string entityId, string json = """{"n":1}""", string dtoType = "Order") => new()
    {
        Id = Guid.CreateVersion7(),
        Operation = operation,
        Version = 1,
        DtoType = dtoType,
        EntityId = entityId,
        Payload = operation == WalOperation.Delete ? default : JsonDocument.Parse(json).RootElement.Clone(),
        ReplayKey = $"test:tests:1:{dtoType}:{entityId}",
    };

    private static WalRecord Batch(long lsn, params WalBatchItem[] items) => new()
    {
        Id = new Guid(0x01900000, 0, 0x7000, BitConverter.GetBytes(lsn)),
        Lsn = new Lsn(lsn),
        Service = "tests",
        Version = 0,
        Timestamp = DateTimeOffset.UnixEpoch,
        Operation = WalOperation.Batch,
        DtoType = "",
        EntityId = "",
        Payload = default,
        ReplayKey = "",
        RequestId = "req-" + lsn,
        Items = items,
    };

    private static FakeMongoWriter ReplicaSetWriter()
    {
        var mongo = new FakeMongoWriter();
        mongo.Server.Hello = BsonDocument.Parse(ReplicaSet);
        return mongo;
    }

    /// <summary>The batch is rejected as unstorable at <paramref name="failedItem"/>, nothing of it is stored, its
    /// rejection and its request's outcome are, and the writer applies the next record.</summary>
    private static async Task AssertRejectedAsync(FakeMongoWriter mongo, WalRecord batch, int failedItem, string because)
    {
        var result = Assert.Single(await mongo.Writer.ApplyAsync([batch], Ct));
        Assert.Equal((ApplyStatus.Rejected, RejectReason.Unstorable, (int?)failedItem), (result.Status, result.RejectReason, result.FailedItem));
        Assert.Contains($"Batch item {failedItem}", result.Error, StringComparison.Ordinal);
        Assert.Contains(because, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(mongo.Stored("Order"), d => BsonQuery.Get(d, "_nv.lsn") is { } stored && stored.ToInt64() == batch.Lsn.Value);

        var resolution = mongo.Resolution(batch.Lsn.Value)!;
        Assert.Equal((int)ApplyStatus.Rejected, resolution["status"].ToInt32());
        Assert.Equal(failedItem, resolution["failedItem"].ToInt32());
        var outcome = Assert.Single(await mongo.Writer.FindRequestsAsync([new RequestKey("", batch.RequestId)], Ct)).Value;
        Assert.Equal((ApplyStatus.Rejected, RejectReason.Unstorable, (int?)failedItem), (outcome.Status, outcome.RejectReason, outcome.FailedItem));

        // Replayed, the batch keeps its outcome; the writer goes on.
        Assert.Equal(ApplyStatus.Rejected, (await mongo.Writer.ApplyAsync([batch], Ct))[0].Status);
        var next = batch.Lsn.Value + 1;
        Assert.Equal(ApplyStatus.Applied, (await mongo.Writer.ApplyAsync([Create(next, "after-" + next)], Ct))[0].Status);
    }

    [Theory]
    [InlineData("Order", """{"n":12345678901234567890123456789012345}""", "Decimal128")]
    [InlineData("audit_entries", """{"n":1}""", "reserved")]
    public async Task An_item_mongodb_cannot_hold_rejects_the_batch_before_anything_is_sent(string dtoType, string json, string because)
    {
        await using var mongo = ReplicaSetWriter();
        var batch = Batch(1, Item(WalOperation.Create, "ok"), Item(WalOperation.Create, "bad", json, dtoType));

        await AssertRejectedAsync(mongo, batch, failedItem: 1, because);
        Assert.Empty(mongo.Stored("audit_entries"));
    }

    [Theory]
    [InlineData(WalOperation.Update)]
    [InlineData(WalOperation.Create)]
    [InlineData(WalOperation.Delete)]
    public async Task A_slot_holding_a_document_nv_did_not_write_rejects_the_batch_and_is_left_alone(WalOperation operation)
    {
        await using var mongo = ReplicaSetWriter();
        var foreign = new BsonDocument { { "_id", "f" }, { "name", "someone else's" } };
        mongo.Server.Put(DatabaseName, "Order", foreign);
        var batch = Batch(1, Item(WalOperation.Create, "ok"), Item(operation, "f"));

        await AssertRejectedAsync(mongo, batch, failedItem: 1, "Nv did not write");
        Assert.Equal(foreign, mongo.Stored("Order").Single(d => d["_id"] == "f"));
        Assert.DoesNotContain(mongo.Stored("Order"), d => d["_id"] == "ok");
    }

    [Fact]
    public async Task An_earlier_conflict_is_still_the_reason_when_a_later_slot_is_foreign()
    {
        await using var mongo = ReplicaSetWriter();
        mongo.Server.Put(DatabaseName, "Order", new BsonDocument { { "_id", "f" }, { "name", "someone else's" } });

        var result = (await mongo.Writer.ApplyAsync([Batch(1, Item(WalOperation.Update, "missing"), Item(WalOperation.Update, "f"))], Ct))[0];

        Assert.Equal((ApplyStatus.Rejected, RejectReason.NotFound, (int?)0), (result.Status, result.RejectReason, result.FailedItem));
    }

    [Fact]
    public async Task A_document_the_server_refuses_inside_the_transaction_rejects_the_batch_and_nothing_of_it_stays()
    {
        await using var mongo = ReplicaSetWriter();
        mongo.Server.RefuseDocument = (collection, document) =>
            collection == "Order" && document["_id"] == "bad" ? (121, "Document failed validation") : null;
        var batch = Batch(1, Item(WalOperation.Create, "ok"), Item(WalOperation.Create, "bad"), Item(WalOperation.Create, "later"));

        await AssertRejectedAsync(mongo, batch, failedItem: 1, "Document failed validation");
        Assert.DoesNotContain(mongo.Stored("Order"), d => d["_id"] != "after-2");
        Assert.Contains(mongo.Server.Operations, o => o.Kind == "abortTransaction");
    }

    [Fact]
    public async Task Through_the_pipeline_a_refused_batch_is_answered_unstorable_and_the_writes_after_it_apply()
    {
        var wal = new InMemoryWal();
        await using var mongo = ReplicaSetWriter();
        mongo.Server.RefuseDocument = (collection, document) =>
            collection == "Stock" && document["_id"] == "s-1" ? (121, "Document failed validation") : null;
        var options = Options.Create(new PipelineOptions
        {
            Environment = "test",
            Service = "svc",
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromMilliseconds(50),
            AuditBackfillInterval = TimeSpan.FromHours(1),
        });
        var coordinator = new AuditCoordinator(wal, mongo.Writer, new InMemoryAuditSink(), new FakeLogger<AuditCoordinator>());
        var pipeline = new WritePipeline(wal, mongo.Writer, coordinator, options, new FakeLogger<WritePipeline>());
        try
        {
            pipeline.Start();
            var outcome = await pipeline.WriteBatchAsync(new BatchRequest
            {
                RequestId = "b1",
                UserId = "u1",
                Items =
                [
                    new BatchItem { Operation = BatchOperation.Create, DtoType = "Order", EntityId = "o-1", Payload = JsonDocument.Parse("{}").RootElement.Clone() },
                    new BatchItem { Operation = BatchOperation.Create, DtoType = "Stock", EntityId = "s-1", Payload = JsonDocument.Parse("{}").RootElement.Clone() },
                ],
            }, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

            Assert.Equal((WriteStatus.Rejected, RejectReason.Unstorable, (int?)1), (outcome.Status, outcome.RejectReason, outcome.FailedItem));
            Assert.Null(await mongo.Writer.GetAsync("Order", "o-1", Ct));
            var next = await pipeline.WriteAsync(new WriteRequest
            {
                RequestId = "r2",
                Operation = WalOperation.Create,
                DtoType = "Order",
                EntityId = "o-2",
                Payload = JsonDocument.Parse("{}").RootElement.Clone(),
                UserId = "u1",
            }, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
            Assert.Equal(WriteStatus.Applied, next.Status);
        }
        finally
        {
            await pipeline.DisposeAsync();
            coordinator.Dispose();
        }
    }
}
