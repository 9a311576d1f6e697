using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Verification next to a live host on MongoDB, which reads without a snapshot: entries, leaves and checkpoints the
/// host stores while a verification runs are not tampering.</summary>
public sealed class MongoAuditLiveVerifyTests : IDisposable
{
    private const string Database = "nv_audit";

    private readonly FakeMongoServer _server = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nv-mongo-live-verify-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private MongoAuditSink Sink(bool readOnly = false) => new(new AuditOptions
    {
        MongoUri = "mongodb://fake/",
        MongoDatabase = Database,
        DataDirectory = _directory,
        CheckpointEveryEntries = 0,
        CheckpointInterval = TimeSpan.Zero,
        ReadOnly = readOnly,
    }, _server.Database(Database));

    private static AuditEntry Event(int n) => AuditEntryFactory.SystemEvent("orders", "test-event", "test", $"event {n}",
        new Dictionary<string, string> { ["n"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture) }, TimeProvider.System);

    /// <summary>Fails without the bounded reads: the trees were recomputed in a second scan and the checkpoints and leaves
    /// read after it, so an entry, leaf and checkpoint the host stored after the chain scan were reported as "checkpoint
    /// covers more entries than exist" or "Merkle leaf has no entry (entry deleted, or leaf forged)" on a clean trail.</summary>
    [Fact]
    public async Task Entries_leaves_and_checkpoints_a_host_stores_during_a_verification_are_not_reported_as_tampering()
    {
        await using var host = Sink();
        await host.AppendAsync([Event(1), Event(2)], Ct);
        await host.CheckpointAllAsync(Ct);

        await using var verifier = Sink(readOnly: true); // `nv audit verify` in an operator's shell
        var scans = 0;
        var appended = 0;
        var inHost = false;
        _server.Before = op =>
        {
            if (inHost)
            {
                return null;
            }

            if (op is { Kind: "find", Collection: MongoAuditDocument.Collection })
            {
                scans++;
                return null;
            }

            if (scans > appended && appended < 3)
            {
                // After each scan of the entries, the host appends one more and signs a checkpoint over it.
                inHost = true;
                try
                {
                    host.AppendAsync([Event(3 + appended)], Ct).GetAwaiter().GetResult();
                    host.CheckpointAllAsync(Ct).GetAwaiter().GetResult();
                }
                finally
                {
                    inHost = false;
                }

                appended++;
            }

            return null;
        };

        var result = await verifier.VerifyAsync(null, Ct);
        _server.Before = null;

        Assert.True(appended > 0, "the host appended nothing during the verification: the test proves nothing");
        Assert.True(result.IsValid, result.Reason);
        var after = await verifier.VerifyAsync(null, Ct); // and the next verification covers what was appended
        Assert.True(after.IsValid, after.Reason);
        Assert.Equal(2 + appended, after.EntriesChecked);
    }

    [Fact]
    public async Task A_checkpoint_over_entries_since_deleted_is_still_reported()
    {
        await using var host = Sink();
        await host.AppendAsync([Event(1), Event(2), Event(3)], Ct);
        await host.CheckpointAllAsync(Ct);
        var last = _server.Documents(Database, MongoAuditDocument.Collection).Single(d => d["sequence"] == 3);
        await _server.Database(Database).GetCollection<BsonDocument>(MongoAuditDocument.Collection)
            .DeleteOneAsync(new BsonDocument("_id", last["_id"]), Ct);

        await using var verifier = Sink(readOnly: true);
        var result = await verifier.VerifyAsync(null, Ct);

        Assert.False(result.IsValid);
    }

    [Fact]
    public async Task A_leaf_past_the_entries_is_still_reported_as_forged()
    {
        await using var host = Sink();
        await host.AppendAsync([Event(1), Event(2)], Ct);
        await host.CheckpointAllAsync(Ct);
        var leaf = _server.Documents(Database, MongoMerkleDocuments.Leaves)[^1].DeepClone().AsBsonDocument;
        leaf["_id"]["i"] = 2L;
        _server.Put(Database, MongoMerkleDocuments.Leaves, leaf);

        await using var verifier = Sink(readOnly: true);
        var result = await verifier.VerifyAsync(null, Ct);

        Assert.False(result.IsValid);
        Assert.Contains("has no entry", result.Reason, StringComparison.Ordinal);
    }
}
