using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Off the caller's path the audit stage gathers a batch (Nv:Pipeline:AuditGatherRecords records or
/// AuditGatherTime) before it appends; a write waiting for its entry (ack=audited) is never held back by that.</summary>
public sealed class AuditGatherTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WriteRequest Write(string requestId, string entityId, AckLevel ack) => PipelineHarness.Create(requestId, entityId) with { Ack = ack };

    // The audit stage sleeps in steps of 2 ms of the pipeline's clock while it gathers: a fake clock that is not advanced
    // holds it there, so what it appends before the clock moves past the gather's deadline shows why it appended.
    private static PipelineHarness Harness(FakeTimeProvider time, int records, int maxBatch) => new(ack: AckLevel.Applied, time: time, configure: o =>
    {
        o.AuditGatherRecords = records;
        o.MaxAuditBatchSize = maxBatch;
        o.AuditGatherTime = TimeSpan.FromSeconds(1);
        o.MaxLagTime = TimeSpan.FromSeconds(10); // a quarter of it bounds the gather
    });

    // Runs a test on a harness with a fake clock, and stops it while moving that clock: a stage asleep in a gather would
    // otherwise never see the stop, and a failing test would hang instead of failing.
    private static async Task WithFakeClock(int records, Func<PipelineHarness, FakeTimeProvider, Task> test, int maxBatch = 8192)
    {
        var time = new FakeTimeProvider();
        var h = Harness(time, records, maxBatch);
        try
        {
            h.Pipeline.Start();
            await test(h, time);
        }
        finally
        {
            var stop = h.DisposeAsync().AsTask();
            while (!stop.IsCompleted)
            {
                time.Advance(TimeSpan.FromMilliseconds(2));
                await Task.WhenAny(stop, Task.Delay(5, CancellationToken.None));
            }

            await stop;
        }
    }

    private static async Task AdvanceUntil(FakeTimeProvider time, Func<bool> done, TimeSpan most)
    {
        var start = time.GetUtcNow();
        while (!done())
        {
            Assert.True(time.GetUtcNow() - start < most, $"not done after {most.TotalMilliseconds} ms of the pipeline's clock");
            time.Advance(TimeSpan.FromMilliseconds(2));
            await Task.Delay(5, Ct);
        }
    }

    [Fact]
    public Task Applied_writes_are_audited_once_the_gather_time_passes_and_not_before() => WithFakeClock(100, async (h, time) =>
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(WriteStatus.Applied, (await h.Pipeline.WriteAsync(Write("a" + i, "e" + i, AckLevel.Applied), Ct)).Status);
        }

        await Task.Delay(200, Ct); // real time: the stage is gathering, its clock has not moved
        Assert.Empty(h.Audit.Entries);

        time.Advance(TimeSpan.FromMilliseconds(990));
        await Task.Delay(100, Ct);
        Assert.Empty(h.Audit.Entries); // 990 ms of its clock: still gathering
        await AdvanceUntil(time, () => h.Audit.Entries.Count == 3, TimeSpan.FromMilliseconds(200));
    });

    [Fact]
    public Task An_audited_write_is_appended_with_the_gathered_ones_at_once() => WithFakeClock(100, async (h, time) =>
    {
        for (var i = 0; i < 3; i++)
        {
            await h.Pipeline.WriteAsync(Write("a" + i, "e" + i, AckLevel.Applied), Ct);
        }

        await Task.Delay(100, Ct);
        var audited = h.Pipeline.WriteAsync(Write("u1", "e9", AckLevel.Audited), Ct);
        // The next step of the gather's sleep reads it and appends: a few ms of the clock (200 allowed while it passes the
        // commit and apply stages in real time), not the gather's second.
        await AdvanceUntil(time, () => audited.IsCompleted, TimeSpan.FromMilliseconds(200));
        Assert.Equal(WriteStatus.Applied, (await audited).Status);
        Assert.Equal(4, h.Audit.Entries.Count);
    });

    [Fact]
    public Task A_gathered_batch_of_the_configured_size_is_appended_without_waiting_for_the_time() => WithFakeClock(4, async (h, time) =>
    {
        for (var i = 0; i < 4; i++)
        {
            await h.Pipeline.WriteAsync(Write("a" + i, "e" + i, AckLevel.Applied), Ct);
        }

        await AdvanceUntil(time, () => h.Audit.Entries.Count == 4, TimeSpan.FromMilliseconds(200));
    });

    [Fact]
    public async Task A_stop_during_a_gather_appends_what_was_gathered_without_waiting_for_the_gather_time()
    {
        var sink = new InMemoryAuditSink();
        var h = new PipelineHarness(audit: sink, ack: AckLevel.Applied, configure: o =>
        {
            o.AuditGatherRecords = 100;
            o.AuditGatherTime = TimeSpan.FromSeconds(1);
        });
        h.Pipeline.Start();
        for (var i = 0; i < 3; i++)
        {
            await h.Pipeline.WriteAsync(Write("a" + i, "e" + i, AckLevel.Applied), Ct);
        }

        var stop = Stopwatch.StartNew();
        await h.DisposeAsync();
        Assert.True(stop.Elapsed < TimeSpan.FromMilliseconds(900), $"the stop took {stop.ElapsedMilliseconds} ms: it waited for the gather");
        Assert.Equal(3, sink.Entries.Count);
    }

    [Fact]
    public Task A_gather_never_waits_for_more_records_than_a_batch_holds() => WithFakeClock(100, async (h, time) =>
    {
        // MaxAuditBatchSize 2 (set below): two records are a full gather, appended without waiting for the gather time.
        for (var i = 0; i < 2; i++)
        {
            await h.Pipeline.WriteAsync(Write("a" + i, "e" + i, AckLevel.Applied), Ct);
        }

        await AdvanceUntil(time, () => h.Audit.Entries.Count == 2, TimeSpan.FromMilliseconds(200));
    }, maxBatch: 2);

    [Theory]
    [InlineData(512, 25, true)]
    [InlineData(1, 0, true)] // no gather
    [InlineData(9000, 25, true)] // more than MaxAuditBatchSize (8,192): a batch's worth counts
    [InlineData(512, 1000, true)] // a quarter of MaxLagTime counts
    [InlineData(0, 25, false)]
    [InlineData(512, -1, false)]
    [InlineData(512, 1001, false)]
    public void The_gather_settings_are_validated(int records, int milliseconds, bool valid)
    {
        var options = new PipelineOptions { AuditGatherRecords = records, AuditGatherTime = TimeSpan.FromMilliseconds(milliseconds) };
        Assert.Equal(valid, new PipelineOptionsValidator().Validate(null, options).Succeeded);
    }
}
