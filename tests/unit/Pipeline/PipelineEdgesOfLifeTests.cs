using System.Threading.Channels;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>What an embedder sees at the two edges of the pipeline's life: before boot replay finished and while it stops.</summary>
public sealed class PipelineEdgesOfLifeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Before boot replay, a write made durable before a crash is not known yet: "unknown" (null) would tell the
    /// caller it was never written, and a caller trusting it writes again under a new id.</summary>
    [Fact]
    public async Task An_outcome_asked_for_before_boot_replay_finished_is_refused_not_answered_unknown()
    {
        await using var h = new PipelineHarness();

        await Assert.ThrowsAsync<PipelineUnavailableException>(() => h.Pipeline.GetOutcomeAsync("load-15", null, Ct));

        h.Pipeline.Start();
        Assert.Null(await h.Pipeline.GetOutcomeAsync("load-15", null, Ct)); // once ready, unknown means unknown
    }

    /// <summary>Writers racing a graceful stop are refused as Nv's own exception, never the channel's, and readiness goes
    /// false as soon as the stop begins.</summary>
    [Fact]
    public async Task Writes_racing_a_stop_are_refused_with_nv_exceptions_and_readiness_drops_at_once()
    {
        var h = new PipelineHarness(ack: AckLevel.Applied);
        h.Pipeline.Start();
        using var stop = new CancellationTokenSource();
        var readyAfterStopBegan = 0;
        var stopBegan = 0;
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var writers = Enumerable.Range(0, 32).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await h.Pipeline.WriteAsync(PipelineHarness.Create($"w{w}-{i}", $"e{w}-{i}"), Ct);
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                    if (Volatile.Read(ref stopBegan) == 1 && h.Pipeline.IsReady)
                    {
                        Interlocked.Increment(ref readyAfterStopBegan);
                    }

                    return;
                }
            }
        }, Ct)).ToArray();

        await Task.Delay(200, Ct);
        Volatile.Write(ref stopBegan, 1);
        await h.DisposeAsync();
        await stop.CancelAsync();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.NotEmpty(failures);
        Assert.All(failures, ex => Assert.IsAssignableFrom<NvException>(ex));
        Assert.DoesNotContain(failures, ex => ex is ChannelClosedException);
        Assert.Equal(0, readyAfterStopBegan);
    }

    /// <summary>Found by a review: any exception in the commit stage was reported as the WAL's (a disk failure, with disk
    /// advice), and the host never stopped to be restarted. Only the WAL's own faults are the WAL's.</summary>
    [Fact]
    public async Task A_commit_stage_failure_that_is_not_the_wals_faults_the_stage_not_the_wal()
    {
        await using var h = new PipelineHarness(configure: o => o.StopHostOnFault = false);
        Exception? raised = null;
        h.Pipeline.Faulted += f => raised = f;
        h.Pipeline.Start();
        h.Wal.ThrowOnNextAppend = new InvalidOperationException("injected bug");

        var refused = await Assert.ThrowsAsync<PipelineUnavailableException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct));

        Assert.Contains("commit", refused.Message, StringComparison.Ordinal);
        Assert.IsType<PipelineFaultedException>(h.Pipeline.Fault);
        Assert.IsType<PipelineFaultedException>(raised); // what stops the host (exit 70) when StopHostOnFault is on
        Assert.Equal(WalState.Open, h.Wal.State);
        await Assert.ThrowsAsync<PipelineUnavailableException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("r2", "e2"), Ct));
    }

    /// <summary>Found by a review: a commit-stage fault told a caller whose record was appended but not flushed yet that
    /// nothing was written, although the WAL's close may still make the record durable and a restart apply it.</summary>
    [Fact]
    public async Task A_write_appended_but_not_flushed_when_the_commit_stage_fails_is_not_told_nothing_was_written()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Applied, configure: o => o.StopHostOnFault = false);
        h.Pipeline.Start();
        var slowDisk = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Wal.FlushGate = slowDisk.Task;
        var appended = h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct);
        for (var i = 0; i < 300 && h.Wal.Records.Count == 0; i++)
        {
            await Task.Delay(10, Ct);
        }

        h.Wal.ThrowOnNextAppend = new InvalidOperationException("injected bug");
        var refused = h.Pipeline.WriteAsync(PipelineHarness.Create("r2", "e2"), Ct);

        var unknown = await Assert.ThrowsAsync<PipelineUnavailableException>(() => appended.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.DoesNotContain("nothing was written", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("LSN 1", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("same request id", unknown.Message, StringComparison.Ordinal);
        var nothing = await Assert.ThrowsAsync<PipelineUnavailableException>(() => refused.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Contains("nothing was written", nothing.Message, StringComparison.Ordinal);
        slowDisk.SetResult();
    }
}
