using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>The WAL's positions and size, as <c>GET /v1/ops/wal</c> and <c>nv wal stat --json</c> print them.</summary>
/// <param name="State">The log's state (<c>open</c>, <c>faulted</c>, ...).</param>
/// <param name="Segments">Segment files held.</param>
/// <param name="SizeBytes">Bytes held on disk.</param>
/// <param name="FirstLsn">First LSN still held (0 when empty).</param>
/// <param name="LastLsn">Last appended LSN.</param>
/// <param name="DurableLsn">Every record at or below it is durable.</param>
/// <param name="AppliedLsn">The database reflects every record at or below it.</param>
/// <param name="AuditedLsn">Every applied record at or below it has its audit entry.</param>
/// <param name="ResolvedThroughLsn">The database's own resolved-through LSN, when it answered.</param>
/// <param name="Unresolved">Durable records the database has not resolved yet, when known.</param>
public sealed record WalStatusView(
    string State,
    int Segments,
    long SizeBytes,
    long FirstLsn,
    long LastLsn,
    long DurableLsn,
    long AppliedLsn,
    long AuditedLsn,
    long? ResolvedThroughLsn,
    long? Unresolved)
{
    /// <summary>The view of a statistics snapshot and the database's resolved-through LSN.</summary>
    public static WalStatusView From(WalStatistics stats, Lsn? resolvedThrough)
    {
        long? unresolved = resolvedThrough is { } r ? Math.Max(0, stats.DurableLsn.Value - Math.Max(r.Value, stats.FirstLsn.Value - 1)) : null;
        return new WalStatusView(
            stats.State.ToString().ToLowerInvariant(),
            stats.SegmentCount,
            stats.SizeBytes,
            stats.FirstLsn.Value,
            stats.LastLsn.Value,
            stats.DurableLsn.Value,
            stats.AppliedLsn.Value,
            stats.AuditedLsn.Value,
            resolvedThrough?.Value,
            unresolved);
    }
}
