using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.Unit.Tests.Audit;
using Nv.Unit.Tests.Mongo.Fakes;

namespace Nv.Unit.Tests.Mongo;

/// <summary>The MongoDB audit store's Merkle tree and checkpoints on the fake server: a leaf insert whose write concern
/// failed is not "already stored", so no checkpoint signs leaves that may not be durable.</summary>
public sealed class MongoAuditCheckpointTests : IDisposable
{
    private const string Database = "nv_audit";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nv-mongo-checkpoints-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private MongoAuditSink Sink(FakeMongoServer server) =>
        new(new AuditOptions { MongoUri = "mongodb://fake/", MongoDatabase = Database, DataDirectory = _directory }, server.Database(Database));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_write_concern_timeout_on_the_leaf_inserts_fails_the_checkpoint_and_nothing_is_signed()
    {
        var server = new FakeMongoServer();
        await using var sink = Sink(server);
        await sink.AppendAsync([AuditEntryFactory.ServiceStarted("orders"), AuditEntryFactory.FromWalRecord(AuditTestData.Record(), Json("{}"))], Ct);

        // The leaves reach the primary, but their replication wait runs out of wtimeout (no write error: not a duplicate).
        var timeout = true;
        server.After = op => timeout && op is { Kind: "insert", Collection: MongoMerkleDocuments.Leaves } ? FakeErrors.WriteConcernTimeout([]) : null;

        var failure = await Assert.ThrowsAsync<MongoBulkWriteException<BsonDocument>>(() => sink.CheckpointAsync("orders", Ct));
        Assert.NotNull(failure.WriteConcernError);
        Assert.Empty(server.Documents(Database, MongoMerkleDocuments.Checkpoints));

        // Once the inserts are acknowledged, the tree and its checkpoint follow (the leaves already there are the same).
        timeout = false;
        var signed = await sink.CheckpointAsync("orders", Ct);
        Assert.Equal(2, signed!.Checkpoint.TreeSize);
        Assert.Single(server.Documents(Database, MongoMerkleDocuments.Checkpoints));
        Assert.True((await sink.VerifyAsync(Ct)).IsValid);
    }
}
