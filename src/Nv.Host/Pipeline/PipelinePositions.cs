using System.Collections.Concurrent;
using System.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Where the pipeline stands: what is applied and audited in memory (ahead of what the stores made durable),
/// what the last durable points covered, and how old the oldest record waiting for each stage is.</summary>
/// <remarks>Written by one stage each (the apply stage moves <see cref="Applied"/>, the audit path moves
/// <see cref="Audited"/>, the durable-point loop the durable positions); read by backpressure, metrics, readiness and
/// the operations endpoint from any thread.</remarks>
internal sealed class PipelinePositions
{
    // (last LSN of a batch, Stopwatch timestamp when it entered the stage's backlog), oldest first.
    private readonly ConcurrentQueue<(long Lsn, long Since)> _toApply = new();
    private readonly ConcurrentQueue<(long Lsn, long Since)> _toAudit = new();
    private long _applied;
    private long _audited;
    private long _durableApplied;
    private long _durableAudited;

    /// <summary>Every record at or below it is applied (committed to the database, maybe not durable there yet).</summary>
    public Lsn Applied => new(Volatile.Read(ref _applied));

    /// <summary>Every applied record at or below it has its audit entry committed (maybe not durable yet).</summary>
    public Lsn Audited => new(Volatile.Read(ref _audited));

    /// <summary>The database's last durable point.</summary>
    public Lsn DurableApplied => new(Volatile.Read(ref _durableApplied));

    /// <summary>The audit store's last durable point.</summary>
    public Lsn DurableAudited => new(Volatile.Read(ref _durableAudited));

    /// <summary>Starts from what the stores hold (after boot replay).</summary>
    public void Reset(Lsn applied, Lsn audited)
    {
        Volatile.Write(ref _applied, applied.Value);
        Volatile.Write(ref _audited, audited.Value);
        Volatile.Write(ref _durableApplied, applied.Value);
        Volatile.Write(ref _durableAudited, audited.Value);
        _toApply.Clear();
        _toAudit.Clear();
    }

    /// <summary>A batch became durable in the WAL and waits for the apply stage.</summary>
    public void Committed(Lsn last) => _toApply.Enqueue((last.Value, Stopwatch.GetTimestamp()));

    /// <summary>The apply stage committed everything through <paramref name="last"/>; it now waits for the audit stage.</summary>
    public void AppliedThrough(Lsn last)
    {
        Advance(ref _applied, last.Value);
        Drain(_toApply, last.Value);
        _toAudit.Enqueue((last.Value, Stopwatch.GetTimestamp()));
    }

    /// <summary>The audit path has written (or handed to the backfill) everything through <paramref name="last"/>.</summary>
    public void AuditedThrough(Lsn last)
    {
        Advance(ref _audited, last.Value);
        Drain(_toAudit, last.Value);
    }

    public void DurableAppliedThrough(Lsn lsn) => Advance(ref _durableApplied, lsn.Value);

    public void DurableAuditedThrough(Lsn lsn) => Advance(ref _durableAudited, lsn.Value);

    /// <summary>Records applied but not audited.</summary>
    public long AuditBacklog => Math.Max(0, Volatile.Read(ref _applied) - Volatile.Read(ref _audited));

    /// <summary>Records durable in the WAL but not applied.</summary>
    public long ApplyBacklog(Lsn durable) => Math.Max(0, durable.Value - Volatile.Read(ref _applied));

    /// <summary>How long the oldest applied, unaudited record has waited.</summary>
    public TimeSpan AuditLag => Age(_toAudit);

    /// <summary>How long the oldest durable, unapplied record has waited.</summary>
    public TimeSpan ApplyLag => Age(_toApply);

    private static TimeSpan Age(ConcurrentQueue<(long Lsn, long Since)> queue) =>
        queue.TryPeek(out var oldest) ? Stopwatch.GetElapsedTime(oldest.Since) : TimeSpan.Zero;

    private static void Drain(ConcurrentQueue<(long Lsn, long Since)> queue, long through)
    {
        while (queue.TryPeek(out var head) && head.Lsn <= through)
        {
            queue.TryDequeue(out _);
        }
    }

    private static void Advance(ref long field, long value)
    {
        var current = Volatile.Read(ref field);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref field, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
