namespace Nv.Host.Diagnostics;

/// <summary>The names under which Nv publishes metrics (<see cref="System.Diagnostics.Metrics.Meter"/>) and traces
/// (<see cref="System.Diagnostics.ActivitySource"/>), for an app's OpenTelemetry registration.</summary>
public static class NvTelemetry
{
    /// <summary>Nv's meters: the host's (<c>Nv.Host</c>: WAL appends, flush latency, lags, replay progress) and each
    /// library's (<c>Nv.Wal</c>, <c>Nv.DbWriter</c>, <c>Nv.Audit</c>).</summary>
    public static IReadOnlyList<string> MeterNames { get; } = [HostMetrics.MeterName, "Nv.Wal", "Nv.DbWriter", "Nv.Audit"];

    /// <summary>The name of Nv's <see cref="System.Diagnostics.ActivitySource"/>: <c>Nv</c>. One <c>nv.write</c> activity
    /// per write (a child of the caller's current activity) with spans <c>nv.wal.append</c>, <c>nv.wal.flush</c> (the group
    /// commit), <c>nv.apply</c> (the database transaction) and <c>nv.audit</c> (the audit batch); a batch span is linked to
    /// every write it carried. Tags: <c>nv.dto_type</c>, <c>nv.entity_id</c>, <c>nv.request_id</c>, <c>nv.lsn</c>,
    /// <c>nv.operation</c>, <c>nv.ack</c>, <c>nv.status</c>, <c>nv.batch.size</c>.</summary>
    /// <remarks>With no listener the write path pays one <see cref="System.Diagnostics.ActivitySource.HasListeners"/>
    /// check per write and per batch.</remarks>
    public const string ActivitySourceName = "Nv";
}
