using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nv.Host.Hosting;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Pipeline;

namespace Nv.Unit.Tests.Hosting;

/// <summary><c>AddHealthChecks().AddNv()</c>'s checks: ready only after boot replay and never while faulted, with the
/// backlogs in the data; live fails only when a restart is needed.</summary>
public sealed class NvHealthCheckTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ready_is_unhealthy_until_boot_replay_finished_and_then_healthy_with_the_backlogs()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Audited);
        var (live, ready) = Checks(h);

        var before = await CheckAsync(ready);
        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Contains("Boot replay has not finished", before.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(live)).Status);

        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct);
        var after = await CheckAsync(ready);
        Assert.Equal(HealthStatus.Healthy, after.Status);
        Assert.Equal(1L, after.Data["appliedLsn"]);
        Assert.Equal(0L, after.Data["auditBacklog"]);
        Assert.Equal(0L, after.Data["applyBacklog"]);
    }

    [Fact]
    public async Task A_failing_audit_store_makes_ready_degraded_not_unhealthy()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Applied);
        h.Audit.Unwritable = true;
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct);
        await WritePipelineTests.WaitUntil(() => h.Coordinator.HasGap);

        var result = await CheckAsync(Checks(h).Ready);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("audit store is failing", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_faulted_WAL_makes_both_live_and_ready_unhealthy()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Applied);
        h.Pipeline.Start();
        h.Wal.FailNextFlush = new IOException("EIO");
        await Assert.ThrowsAnyAsync<NvException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct));
        var (live, ready) = Checks(h);

        var readiness = await CheckAsync(ready);
        var liveness = await CheckAsync(live);

        Assert.Equal(HealthStatus.Unhealthy, readiness.Status);
        Assert.Contains("write-ahead log has failed", readiness.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, liveness.Status);
        Assert.Contains("Restart", liveness.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_faulted_stage_makes_ready_unhealthy_with_the_cause()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Audited, configure: o => o.StopHostOnFault = false);
        h.Coordinator.BuildEntry = (_, _) => throw new InvalidOperationException("diff exploded");
        h.Pipeline.Start();
        await Assert.ThrowsAsync<PipelineUnavailableException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct));

        var result = await CheckAsync(Checks(h).Ready);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("diff exploded", result.Description, StringComparison.Ordinal);
    }

    private static (NvHealthCheck Live, NvHealthCheck Ready) Checks(PipelineHarness h) =>
        (new NvHealthCheck(h.Pipeline, h.Coordinator, h.Wal, readiness: false), new NvHealthCheck(h.Pipeline, h.Coordinator, h.Wal, readiness: true));

    private static Task<HealthCheckResult> CheckAsync(NvHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("nv", check, null, null) }, Ct);
}
