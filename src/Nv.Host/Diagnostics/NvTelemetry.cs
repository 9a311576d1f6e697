namespace Nv.Host.Diagnostics;

/// <summary>The names under which Nv publishes metrics (<see cref="System.Diagnostics.Metrics.Meter"/>) and traces
/// (<see cref="System.Diagnostics.ActivitySource"/>), for an app's OpenTelemetry registration.</summary>
public static class NvTelemetry
{
    /// <summary>Nv's meters: the host's (<c>Nv.Host</c>: WAL appends, flush latency, lags, replay progress) and each
    /// library's (<c>Nv.Wal</c>, <c>Nv.DbWriter</c>, <c>Nv.Audit</c>).</summary>
    public static IReadOnlyList<string> MeterNames { get; } = [HostMetrics.MeterName, "Nv.Wal", "Nv.DbWriter", "Nv.Audit"];
}
