using Nv.Audit;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Reads and audit queries through <see cref="IWritePipeline"/>: refused until boot replay finished, typed errors,
/// argument checks. (The same calls on real stores: tests/integration/Hosting.)</summary>
public sealed class PipelineReadTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reads_and_audit_queries_are_refused_until_boot_replay_finished()
    {
        await using var h = new PipelineHarness();
        var pipeline = h.Pipeline;

        await Assert.ThrowsAsync<PipelineUnavailableException>(() => pipeline.ReadAsync("Item", "e1", Ct));
        await Assert.ThrowsAsync<PipelineUnavailableException>(() => pipeline.GetHistoryAsync("Item", "e1", cancellationToken: Ct));
        await Assert.ThrowsAsync<PipelineUnavailableException>(() => pipeline.QueryAuditAsync(new AuditQuery(), Ct));
    }

    [Fact]
    public async Task A_read_after_an_applied_write_returns_the_state_and_its_version()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Applied);
        h.Pipeline.Start();
        var pipeline = h.Pipeline;

        var outcome = await pipeline.WriteAsync(PipelineHarness.Create("r1", "e1", n: 7), Ct);
        var snapshot = await pipeline.ReadAsync("Item", "e1", Ct);

        Assert.NotNull(snapshot);
        Assert.Equal(outcome.Lsn, snapshot.Lsn);
        Assert.Equal(7, snapshot.Document.GetProperty("n").GetInt32());
        Assert.Equal(7, snapshot.Deserialize<Item>(System.Text.Json.JsonSerializerOptions.Web)!.N);
        Assert.Null(await pipeline.ReadAsync("Item", "missing", Ct));
    }

    [Theory]
    [InlineData("", "e1")]
    [InlineData("1Item", "e1")]
    [InlineData("Item;drop", "e1")]
    [InlineData("Item", "")]
    [InlineData("Item", "a\nb")]
    public async Task Malformed_types_and_ids_are_argument_errors(string dtoType, string entityId)
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => h.Pipeline.ReadAsync(dtoType, entityId, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => h.Pipeline.GetHistoryAsync(dtoType, entityId, cancellationToken: Ct));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public async Task An_audit_page_size_outside_1_to_1000_is_an_argument_error(int limit)
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => h.Pipeline.QueryAuditAsync(new AuditQuery { Limit = limit }, Ct));
    }

    [Fact]
    public async Task An_audit_store_failure_during_a_query_is_an_AuditUnavailableException()
    {
        var sink = new FailingQuerySink(new InvalidOperationException("database is locked"));
        var db = new InMemoryDbWriter();
        var wal = new InMemoryWal();
        var coordinator = new AuditCoordinator(wal, db, sink, new Microsoft.Extensions.Logging.Testing.FakeLogger<AuditCoordinator>());
        await using var pipeline = new WritePipeline(wal, db, coordinator,
            Microsoft.Extensions.Options.Options.Create(new PipelineOptions()), new Microsoft.Extensions.Logging.Testing.FakeLogger<WritePipeline>());
        pipeline.Start();

        var ex = await Assert.ThrowsAsync<AuditUnavailableException>(() => pipeline.GetAuditByRequestAsync("r1", Ct));
        Assert.True(ex.IsTransient);
        Assert.Contains("database is locked", ex.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(ex.InnerException);

        // A cursor the store does not recognise stays an argument error (the caller's mistake, not an outage).
        var badCursor = new FailingQuerySink(new ArgumentException("not a cursor"));
        var coordinator2 = new AuditCoordinator(wal, db, badCursor, new Microsoft.Extensions.Logging.Testing.FakeLogger<AuditCoordinator>());
        await using var pipeline2 = new WritePipeline(wal, db, coordinator2,
            Microsoft.Extensions.Options.Options.Create(new PipelineOptions()), new Microsoft.Extensions.Logging.Testing.FakeLogger<WritePipeline>());
        pipeline2.Start();
        await Assert.ThrowsAsync<ArgumentException>(() => pipeline2.QueryAuditAsync(new AuditQuery { Cursor = "zz" }, Ct));
    }

    private sealed record Item(int N);

    /// <summary>An audit store whose queries fail (appends go to an in-memory store).</summary>
    private sealed class FailingQuerySink(Exception failure) : IAuditSink
    {
        private readonly InMemoryAuditSink _inner = new();

        public Task InitializeAsync(CancellationToken cancellationToken = default) => _inner.InitializeAsync(cancellationToken);

        public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) => _inner.AppendAsync(entries, cancellationToken);

        public Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default) => _inner.ContainsAsync(ids, cancellationToken);

        public Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default) => throw failure;

        public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => throw failure;

        public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) => throw failure;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
