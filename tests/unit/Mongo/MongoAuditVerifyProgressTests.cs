using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Full verification on the MongoDB store (fake server) reports the same phases as the SQLite store, each from 0 to
/// its total, and one read of the entries both checks the chains and recomputes the trees.</summary>
public sealed class MongoAuditVerifyProgressTests : IDisposable
{
    private const string Database = "nv_audit";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nv-mongo-progress-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private MongoAuditSink Sink(FakeMongoServer server) =>
        new(new AuditOptions
        {
            MongoUri = "mongodb://fake/",
            MongoDatabase = Database,
            DataDirectory = _directory,
            CheckpointInterval = TimeSpan.FromMinutes(10),
        }, server.Database(Database))
        {
            ProgressInterval = TimeSpan.Zero,
        };

    private sealed class Recorder : IProgress<AuditProgress>
    {
        public List<AuditProgress> Reports { get; } = [];

        public void Report(AuditProgress value) => Reports.Add(value);

        public List<(long Done, long? Total)> Of(AuditProgressPhase phase) =>
            [.. Reports.Where(r => r.Phase == phase).Select(r => (r.Done, r.Total))];

        public List<AuditProgressPhase> Phases() =>
            [.. Reports.Select(r => r.Phase).Where((p, i) => i == 0 || Reports[i - 1].Phase != p)];
    }

    private static async Task AppendAsync(MongoAuditSink sink, string chain, int count)
    {
        for (var start = 0; start < count; start += 500)
        {
            await sink.AppendAsync([.. Enumerable.Range(0, Math.Min(500, count - start)).Select(_ => AuditEntryFactory.ServiceStarted(chain))], Ct);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Verify_reports_entries_checkpoints_and_leaves_from_zero_to_their_totals()
    {
        var server = new FakeMongoServer();
        await using var sink = Sink(server);
        await AppendAsync(sink, "alpha", 2500);
        await AppendAsync(sink, "beta", 600);
        Assert.Equal(2, (await sink.CheckpointAllAsync(Ct)).Count);
        var recorder = new Recorder();

        var result = await sink.VerifyAsync(null, recorder, Ct);

        Assert.True(result.IsValid, result.Reason);
        Assert.Equal((3100L, 2L), (result.EntriesChecked, result.CheckpointsChecked));
        Assert.Equal([AuditProgressPhase.VerifyEntries, AuditProgressPhase.VerifyCheckpoints, AuditProgressPhase.VerifyLeaves], recorder.Phases());
        Assert.Equal([(0L, 3100L), (1024, 3100), (2048, 3100), (3072, 3100), (3100, 3100)], recorder.Of(AuditProgressPhase.VerifyEntries));
        Assert.Equal([(0L, 2L), (2, 2)], recorder.Of(AuditProgressPhase.VerifyCheckpoints));
        Assert.Equal([(0L, 3100L), (1024, 3100), (2048, 3100), (3072, 3100), (3100, 3100)], recorder.Of(AuditProgressPhase.VerifyLeaves));
        Assert.All(recorder.Reports, r => Assert.Null(r.Chain));
        var plain = await sink.VerifyAsync(null, Ct);
        Assert.Equal((plain.IsValid, plain.EntriesChecked, plain.CheckpointsChecked), (result.IsValid, result.EntriesChecked, result.CheckpointsChecked));
    }

    [Fact]
    public async Task A_broken_chain_ends_the_entries_phase_below_its_total_and_nothing_follows()
    {
        var server = new FakeMongoServer();
        await using var sink = Sink(server);
        await AppendAsync(sink, "alpha", 2000);
        var edited = server.Documents(Database, MongoAuditDocument.Collection).Single(d => d["sequence"] == 1500);
        edited["reason"] = "altered";
        server.Put(Database, MongoAuditDocument.Collection, edited);
        var recorder = new Recorder();

        var result = await sink.VerifyAsync(null, recorder, Ct);

        Assert.False(result.IsValid);
        Assert.Equal(1500, result.BrokenSequence);
        Assert.Equal([AuditProgressPhase.VerifyEntries], recorder.Phases());
        Assert.Equal([(0L, 2000L), (1024, 2000), (1500, 2000)], recorder.Of(AuditProgressPhase.VerifyEntries));
    }
}
