using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Host.Replay;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using static Nv.Unit.Tests.Support.ReplayRecords;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Boot replay's overlapped read → apply → audit stages: batching, audit entries built from the apply results
/// with the backfill's exact semantics, and watermarks that never claim more than is durable.</summary>
public sealed class ReplayPipelineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Records_are_applied_in_batches_of_the_configured_size_and_audited_in_lsn_order()
    {
        var wal = await WalWithAsync(Creates(10));
        var db = new CountingDbWriter(wal);
        var sink = new WatchingAuditSink(wal);
        var replayer = Replayer(wal, db, sink, batchSize: 4, out _);

        var summary = await replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal([4, 4, 2], db.BatchSizes);
        Assert.Equal(10, summary.RecordsRead);
        Assert.Equal(10, summary.Replayed);
        Assert.Equal(10, summary.AuditBackfilled);
        Assert.Equal(new Lsn(10), wal.AppliedLsn);
        Assert.Equal(new Lsn(10), wal.AuditedLsn);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), sink.Inner.Entries.Select(e => e.Lsn!.Value.Value));
        Assert.Empty(sink.Violations);
        Assert.Empty(db.Violations);
    }

    [Fact]
    public async Task Progress_reports_every_applied_batch()
    {
        var wal = await WalWithAsync(Creates(10));
        var replayer = Replayer(wal, new InMemoryDbWriter(), new InMemoryAuditSink(), batchSize: 4, out _);
        var reports = new List<(long Done, long Total)>();

        await replayer.RunAsync(dryRun: false, progress: (done, total) => reports.Add((done, total)), maxTransientRetries: 0, Ct);

        Assert.Equal([(4L, 10L), (8L, 10L), (10L, 10L)], reports);
    }

    [Fact]
    public async Task Entries_come_from_the_apply_results_with_before_images_and_none_for_rejections()
    {
        var records = new List<WalRecord>
        {
            Record(WalOperation.Create, "e1", new { v = 1 }),
            Record(WalOperation.Update, "e1", new { v = 2 }),
            Record(WalOperation.Create, "e1", new { v = 3 }), // rejected: already exists
            Record(WalOperation.Delete, "e1", null),
            Record(WalOperation.Update, "e2", new { v = 1 }), // rejected: not found
        };
        var wal = await WalWithAsync(records);
        var sink = new InMemoryAuditSink();
        var replayer = Replayer(wal, new InMemoryDbWriter(), sink, batchSize: 2, out _);

        var summary = await replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(2, summary.Rejected);
        Assert.Equal(3, summary.AuditBackfilled);
        var entries = sink.Entries;
        Assert.Equal([1L, 2L, 4L], entries.Select(e => e.Lsn!.Value.Value));
        Assert.Null(entries[0].Before);
        Assert.Equal(1, entries[1].Before!.Value.GetProperty("v").GetInt32());
        Assert.Equal(2, entries[1].After!.Value.GetProperty("v").GetInt32());
        Assert.Equal(2, entries[2].Before!.Value.GetProperty("v").GetInt32());
        Assert.Null(entries[2].After);
        Assert.Equal(new Lsn(5), wal.AuditedLsn);
    }

    [Fact]
    public async Task Records_resolved_before_a_crash_are_audited_like_the_backfill_would()
    {
        // A crash after the database resolved lsn 1, 2 and 4 (out of order) but not 3: its resolved-through is 2, so replay
        // starts at 3, gets AlreadyApplied for 4 and must look at the stored resolutions, as the backfill does for 1 and 2.
        var records = new List<WalRecord>
        {
            Record(WalOperation.Create, "e1", new { v = 1 }),
            Record(WalOperation.Update, "e1", new { v = 2 }),
            Record(WalOperation.Create, "e2", new { v = 1 }),
            Record(WalOperation.Update, "e1", new { v = 3 }),
            Record(WalOperation.Update, "e1", new { v = 4 }),
        };
        var wal = await WalWithAsync(records);
        var db = new InMemoryDbWriter();
        var stored = wal.Records;
        await db.ApplyAsync([stored[0], stored[1], stored[3]], Ct);
        var sink = new InMemoryAuditSink();
        var replayer = Replayer(wal, db, sink, batchSize: 2, out _);

        var summary = await replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(1, summary.AlreadyApplied);
        Assert.Equal(2, summary.Replayed);
        Assert.Equal(5, summary.AuditBackfilled);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], sink.Entries.Select(e => e.Lsn!.Value.Value));
        Assert.Equal(2, sink.Entries[3].Before!.Value.GetProperty("v").GetInt32());
        Assert.Equal(new Lsn(5), wal.AuditedLsn);
    }

    [Fact]
    public async Task A_superseded_record_resolved_before_a_crash_gets_no_entry()
    {
        var records = new List<WalRecord>
        {
            Record(WalOperation.Create, "e1", new { v = 1 }),
            Record(WalOperation.Update, "e1", new { v = 2 }),
        };
        var wal = await WalWithAsync(records);
        var db = new InMemoryDbWriter();
        var stored = wal.Records;
        await db.ApplyAsync([stored[1] with { Operation = WalOperation.Create }], Ct); // the slot now holds lsn 2
        await db.ApplyAsync([stored[0]], Ct); // lsn 1 is superseded: resolved AlreadyApplied
        var sink = new InMemoryAuditSink();
        var replayer = Replayer(wal, db, sink, batchSize: 8, out _);

        var summary = await replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(0, summary.AlreadyApplied); // both resolved before: nothing to replay, the backfill audits lsn 2 only
        Assert.Equal([2L], sink.Entries.Select(e => e.Lsn!.Value.Value));
        Assert.Equal(new Lsn(2), wal.AuditedLsn);
    }

    [Fact]
    public async Task A_gap_left_by_an_earlier_run_is_backfilled_first_so_the_chain_keeps_lsn_order()
    {
        var wal = await WalWithAsync(Creates(6));
        var db = new InMemoryDbWriter();
        await db.ApplyAsync(wal.Records.Take(3).ToList(), Ct);
        wal.AdvanceApplied(new Lsn(3)); // applied, never audited
        var sink = new InMemoryAuditSink();
        var replayer = Replayer(wal, db, sink, batchSize: 2, out _);

        var summary = await replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(3, summary.RecordsRead);
        Assert.Equal(6, summary.AuditBackfilled);
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], sink.Entries.Select(e => e.Lsn!.Value.Value));
        Assert.Equal(new Lsn(6), wal.AuditedLsn);
    }

    [Fact]
    public async Task An_audit_failure_mid_replay_holds_the_audited_watermark_and_the_backfill_closes_the_gap()
    {
        var wal = await WalWithAsync(Creates(10));
        var sink = new WatchingAuditSink(wal) { FailCall = 2 };
        var replayer = Replayer(wal, new InMemoryDbWriter(), sink, batchSize: 3, out var logger);

        var summary = await replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(10, summary.AuditBackfilled);
        Assert.Equal(new Lsn(10), wal.AuditedLsn);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), sink.Inner.Entries.Select(e => e.Lsn!.Value.Value));
        Assert.Empty(sink.Violations);
        Assert.Contains(logger.Collector.GetSnapshot(), r => r.Id.Id == 3024);
    }

    [Fact]
    public async Task While_the_audit_store_stays_down_nothing_is_claimed_audited()
    {
        var wal = await WalWithAsync(Creates(7));
        var sink = new WatchingAuditSink(wal) { FailFromCall = 1 };
        var replayer = Replayer(wal, new InMemoryDbWriter(), sink, batchSize: 3, out _);

        var summary = await replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(7, summary.Replayed);
        Assert.Equal(0, summary.AuditBackfilled);
        Assert.Equal(new Lsn(7), wal.AppliedLsn);
        Assert.Equal(Lsn.None, wal.AuditedLsn);
    }

    [Fact]
    public async Task A_database_failure_stops_the_replay_after_auditing_the_batches_already_committed()
    {
        var wal = await WalWithAsync(Creates(10));
        var db = new CountingDbWriter(wal) { FailCall = 3 };
        var sink = new InMemoryAuditSink();
        var replayer = Replayer(wal, db, sink, batchSize: 3, out _);

        // A failure the writer calls permanent stops the replay at once, as itself, naming the records it stopped at.
        var error = await Assert.ThrowsAsync<Nv.DbWriter.DbWriterException>(() =>
            replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct));

        Assert.Contains("lsn 7", error.Message, StringComparison.Ordinal);
        Assert.Equal(new Lsn(6), await db.GetResolvedThroughAsync(Ct)); // what the next boot starts after
        Assert.Equal(6, sink.Entries.Count);
        Assert.Equal(Lsn.None, wal.AppliedLsn); // no durable point was reached: the WAL's watermarks claim nothing
        Assert.Equal(Lsn.None, wal.AuditedLsn);
    }

    [Fact]
    public async Task A_second_replay_after_an_interrupted_one_converges_without_duplicates()
    {
        var wal = await WalWithAsync(Creates(9));
        var db = new CountingDbWriter(wal) { FailCall = 2 };
        var sink = new InMemoryAuditSink();
        var first = Replayer(wal, db, sink, batchSize: 4, out _);
        await Assert.ThrowsAsync<Nv.DbWriter.DbWriterException>(() => first.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct));

        db.FailCall = 0;
        var second = await Replayer(wal, db, sink, batchSize: 4, out _).RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(5, second.Replayed);
        Assert.Equal(5, second.AuditBackfilled);
        Assert.Equal(Enumerable.Range(1, 9).Select(i => (long)i), sink.Entries.Select(e => e.Lsn!.Value.Value));
        Assert.Equal(new Lsn(9), wal.AuditedLsn);
    }

    [Fact]
    public async Task An_unexpected_audit_stage_failure_ends_every_stage_instead_of_hanging()
    {
        var wal = await WalWithAsync(Creates(40));
        var sink = new WatchingAuditSink(wal) { CancelCall = 1 };
        var replayer = Replayer(wal, new InMemoryDbWriter(), sink, batchSize: 2, out _);

        var run = replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30), Ct));

        Assert.Same(run, finished);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(wal.AppliedLsn.Value < 40, "the replay went on after its audit stage failed");
        Assert.Equal(Lsn.None, wal.AuditedLsn);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(65536, true)]
    [InlineData(0, false)]
    [InlineData(65537, false)]
    public void The_replay_batch_size_is_validated(int size, bool valid)
    {
        var result = new PipelineOptionsValidator().Validate(null, new PipelineOptions { ReplayBatchSize = size });
        Assert.Equal(valid, result.Succeeded);
    }

    private static BootReplayer Replayer(IWriteAheadLog wal, IDbWriter db, IAuditSink sink, int batchSize, out FakeLogger<AuditCoordinator> auditLogger)
    {
        auditLogger = new FakeLogger<AuditCoordinator>();
        var options = Options.Create(new PipelineOptions
        {
            Environment = "test",
            Service = "svc",
            ReplayBatchSize = batchSize,
            InitialRetryDelay = TimeSpan.FromMilliseconds(1),
            MaxRetryDelay = TimeSpan.FromMilliseconds(2),
        });
        var coordinator = new AuditCoordinator(wal, db, sink, auditLogger);
        return new BootReplayer(wal, db, coordinator, options, new FakeLogger<BootReplayer>());
    }

    /// <summary>Records batch sizes, fails the n-th apply, and checks the applied watermark never runs ahead of the commits.</summary>
    private sealed class CountingDbWriter(IWriteAheadLog wal) : IDbWriter
    {
        private readonly InMemoryDbWriter _inner = new();
        private int _calls;

        public int FailCall { get; set; }

        public List<int> BatchSizes { get; } = [];

        public List<string> Violations { get; } = [];

        public Task InitializeAsync(CancellationToken cancellationToken = default) => _inner.InitializeAsync(cancellationToken);

        public Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default)
        {
            if (++_calls == FailCall)
            {
                throw new DbWriterException("disk is gone", isTransient: false);
            }

            BatchSizes.Add(batch.Count);
            if (wal.AppliedLsn >= batch[0].Lsn)
            {
                Violations.Add($"applied watermark {wal.AppliedLsn} claims lsn {batch[0].Lsn} before its commit");
            }

            return _inner.ApplyAsync(batch, cancellationToken);
        }

        public Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default) =>
            _inner.GetAsync(dtoType, entityId, cancellationToken);

        public Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default) =>
            _inner.GetResolutionsAsync(after, limit, cancellationToken);

        public Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default) =>
            _inner.FindByRequestIdAsync(requestId, cancellationToken);

        public Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default) =>
            _inner.FindByRequestIdsAsync(requestIds, cancellationToken);

        public Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys, CancellationToken cancellationToken = default) =>
            _inner.FindRequestsAsync(keys, cancellationToken);

        public Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) =>
            _inner.PurgeRequestsAsync(createdBefore, cancellationToken);

        public Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default) => _inner.GetResolvedThroughAsync(cancellationToken);

        public Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default) => _inner.PurgeAsync(upTo, cancellationToken);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }

    /// <summary>Fails chosen appends and checks, at every append, that the audited watermark claims only stored entries.</summary>
    private sealed class WatchingAuditSink(IWriteAheadLog wal) : IAuditSink
    {
        private int _calls;

        public InMemoryAuditSink Inner { get; } = new();

        public int FailCall { get; set; }

        public int FailFromCall { get; set; }

        public int CancelCall { get; set; }

        public List<string> Violations { get; } = [];

        public Task InitializeAsync(CancellationToken cancellationToken = default) => Inner.InitializeAsync(cancellationToken);

        public async Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default)
        {
            var call = ++_calls;
            var audited = wal.AuditedLsn;
            var stored = Inner.Entries.Select(e => e.Lsn?.Value ?? 0).DefaultIfEmpty(0).Max();
            if (audited.Value > stored)
            {
                Violations.Add($"audited watermark {audited} claims entries beyond the stored lsn {stored}");
            }

            if (call == CancelCall)
            {
                throw new OperationCanceledException("a spurious cancellation, not the caller's");
            }

            if (call == FailCall || (FailFromCall > 0 && call >= FailFromCall))
            {
                throw new IOException("audit store is read-only");
            }

            return await Inner.AppendAsync(entries, cancellationToken);
        }

        public Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default) =>
            Inner.ContainsAsync(ids, cancellationToken);

        public Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default) => Inner.GetAsync(id, cancellationToken);

        public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => Inner.QueryAsync(query, cancellationToken);

        public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) => Inner.VerifyAsync(cancellationToken);

        public ValueTask DisposeAsync() => Inner.DisposeAsync();
    }
}
