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

    private MongoAuditSink Sink(FakeMongoServer server, TimeSpan? checkpointInterval = null) =>
        new(new AuditOptions
        {
            MongoUri = "mongodb://fake/",
            MongoDatabase = Database,
            DataDirectory = _directory,
            CheckpointInterval = checkpointInterval ?? TimeSpan.FromMinutes(10),
        }, server.Database(Database));

    // Chains "alpha" and "beta", two entries each; alpha's second entry then altered in the store (its hash no longer matches).
    private static async Task TwoChainsOneBrokenAsync(FakeMongoServer server, MongoAuditSink sink)
    {
        await sink.AppendAsync([AuditEntryFactory.ServiceStarted("alpha"), AuditEntryFactory.ServiceStarted("beta")], Ct);
        await sink.AppendAsync([AuditEntryFactory.ServiceStopped("alpha"), AuditEntryFactory.ServiceStopped("beta")], Ct);
        var second = server.Documents(Database, MongoAuditDocument.Collection).Single(d => d["service"] == "alpha" && d["sequence"] == 2);
        second["reason"] = "altered";
        server.Put(Database, MongoAuditDocument.Collection, second);
    }

    private static IReadOnlyList<BsonDocument> CheckpointsOf(FakeMongoServer server, string chain) =>
        [.. server.Documents(Database, MongoMerkleDocuments.Checkpoints).Where(d => d["chain"] == chain)];

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

    [Fact]
    public async Task One_broken_chain_does_not_keep_the_others_from_being_checkpointed()
    {
        var server = new FakeMongoServer();
        await using var sink = Sink(server);
        await TwoChainsOneBrokenAsync(server, sink);

        var broken = await Assert.ThrowsAsync<AuditChainBrokenException>(() => sink.CheckpointAllAsync(Ct));

        Assert.Contains("alpha", broken.Message, StringComparison.Ordinal);
        Assert.Equal(2, Assert.Single(CheckpointsOf(server, "beta"))["size"].ToInt64());
        Assert.Empty(CheckpointsOf(server, "alpha"));
    }

    [Fact]
    public async Task A_failed_automatic_checkpoint_is_recorded_in_its_chain_and_the_other_chains_are_still_signed()
    {
        var server = new FakeMongoServer();
        await using var sink = Sink(server, checkpointInterval: TimeSpan.FromMilliseconds(100));
        await TwoChainsOneBrokenAsync(server, sink);
        await sink.GetLatestCheckpointAsync("beta", Ct); // the Merkle state, and with it the background pass, starts on first use

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        IReadOnlyList<BsonDocument> failures = [];
        while (DateTime.UtcNow < deadline && (failures.Count == 0 || CheckpointsOf(server, "beta").Count == 0))
        {
            await Task.Delay(50, Ct);
            failures = [.. server.Documents(Database, MongoAuditDocument.Collection)
                .Where(d => d["service"] == "alpha" && d["operation"] == NvOperations.CheckpointFailed)];
        }

        Assert.NotEmpty(failures);
        var failure = failures[0];
        Assert.Equal("system-events", failure["category"].AsString);
        Assert.Contains("AuditChainBrokenException", failure["metadata"].AsString, StringComparison.Ordinal);
        Assert.NotEmpty(CheckpointsOf(server, "beta"));
        Assert.Empty(CheckpointsOf(server, "alpha"));
    }
}
