using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Hosting;

/// <summary>Nv's liveness and readiness, for <c>AddHealthChecks().AddNv()</c>.</summary>
/// <remarks>
/// Live: unhealthy only when Nv can no longer work without a restart (the WAL or a pipeline stage failed: fail-stop);
/// a restart is exactly what recovers, through boot replay. Ready: unhealthy until boot replay has finished, and while
/// the WAL or a stage is faulted or Nv is stopping; degraded (still taking writes) while the audit store is failing and
/// entries wait for the backfill, or while backpressure holds new writes. The data always carries the positions and
/// backlogs, so a probe's detail says how far behind the stages are.
/// </remarks>
internal sealed class NvHealthCheck : IHealthCheck
{
    private readonly WritePipeline _pipeline;
    private readonly AuditCoordinator _audit;
    private readonly IWriteAheadLog _wal;
    private readonly bool _readiness;

    public NvHealthCheck(WritePipeline pipeline, AuditCoordinator audit, IWriteAheadLog wal, bool readiness)
    {
        _pipeline = pipeline;
        _audit = audit;
        _wal = wal;
        _readiness = readiness;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_readiness ? Ready() : Live());

    private HealthCheckResult Live()
    {
        if (Faulted() is { } fault)
        {
            return HealthCheckResult.Unhealthy(fault + " Restart the process: boot replay recovers every durable record.", data: Data());
        }

        return HealthCheckResult.Healthy("Nv is running.");
    }

    private HealthCheckResult Ready()
    {
        var data = Data();
        if (Faulted() is { } fault)
        {
            return HealthCheckResult.Unhealthy(fault, data: data);
        }

        if (!_pipeline.IsReady)
        {
            return HealthCheckResult.Unhealthy(_pipeline.WhenReadyAsync().IsFaulted
                ? "Nv failed to start: " + _pipeline.WhenReadyAsync().Exception!.GetBaseException().Message
                : "Boot replay has not finished, or Nv is stopping.", data: data);
        }

        var backlog = $"apply backlog {data["applyBacklog"]}, audit backlog {data["auditBacklog"]} records";
        if (_audit.HasGap)
        {
            return HealthCheckResult.Degraded($"The audit store is failing; writes go on and {data["auditBacklog"]} applied records wait for the backfill ({backlog}).", data: data);
        }

        if (_pipeline.Backpressure is { } reason)
        {
            return HealthCheckResult.Degraded($"Writes wait for a backlog to drain: {reason} ({backlog}).", data: data);
        }

        return HealthCheckResult.Healthy($"Nv takes writes ({backlog}).", data);
    }

    private string? Faulted()
    {
        if (_wal.State == WalState.Faulted)
        {
            return "The write-ahead log has failed; Nv accepts no writes.";
        }

        return _pipeline.Fault is { } fault ? "Nv's write pipeline has failed and accepts no writes: " + fault.Message : null;
    }

    private Dictionary<string, object> Data()
    {
        var durable = _wal.DurableLsn.Value;
        var positions = _pipeline.Positions;
        return new Dictionary<string, object>
        {
            ["durableLsn"] = durable,
            ["appliedLsn"] = positions.Applied.Value,
            ["auditedLsn"] = positions.Audited.Value,
            ["applyBacklog"] = positions.ApplyBacklog(_wal.DurableLsn),
            ["auditBacklog"] = positions.AuditBacklog,
            ["applyLagSeconds"] = positions.ApplyLag.TotalSeconds,
            ["auditLagSeconds"] = positions.AuditLag.TotalSeconds,
        };
    }
}
