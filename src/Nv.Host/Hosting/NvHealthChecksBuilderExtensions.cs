using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nv.Host.Hosting;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Nv's health checks: <c>services.AddHealthChecks().AddNv()</c>.</summary>
public static class NvHealthChecksBuilderExtensions
{
    /// <summary>The tag of the liveness check (<c>live</c>), for <c>MapHealthChecks(path, new() { Predicate = c =&gt; c.Tags.Contains("live") })</c>.</summary>
    public const string LiveTag = "live";

    /// <summary>The tag of the readiness check (<c>ready</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>Adds <c>nv-live</c> (tag <see cref="LiveTag"/>) and <c>nv-ready</c> (tag <see cref="ReadyTag"/>).</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>Needs <c>AddNv()</c>. <c>nv-live</c> is unhealthy only when the WAL or a pipeline stage has failed (Nv is
    /// fail-stop: restart the process, boot replay recovers). <c>nv-ready</c> is unhealthy until boot replay has finished
    /// and while the WAL or a stage is faulted or Nv is stopping; degraded while the audit store is failing (writes go on,
    /// entries wait for the backfill) or backpressure holds writes. Both report the positions and backlogs in their data
    /// (<c>durableLsn</c>, <c>appliedLsn</c>, <c>auditedLsn</c>, <c>applyBacklog</c>, <c>auditBacklog</c>, lags).</remarks>
    public static IHealthChecksBuilder AddNv(this IHealthChecksBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(new HealthCheckRegistration("nv-live", sp => Create(sp, readiness: false), HealthStatus.Unhealthy, [LiveTag]));
        builder.Add(new HealthCheckRegistration("nv-ready", sp => Create(sp, readiness: true), HealthStatus.Unhealthy, [ReadyTag]));
        return builder;
    }

    private static NvHealthCheck Create(IServiceProvider services, bool readiness) => new(
        services.GetRequiredService<WritePipeline>(),
        services.GetRequiredService<AuditCoordinator>(),
        services.GetRequiredService<IWriteAheadLog>(),
        readiness);
}
