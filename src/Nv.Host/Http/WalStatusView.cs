using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>The WAL's positions and size, as <c>GET /v1/ops/wal</c> and <c>nv wal stat --json</c> print them.</summary>
internal sealed record WalStatusView(
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
