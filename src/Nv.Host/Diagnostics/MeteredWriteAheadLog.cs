using System.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Diagnostics;

/// <summary>Wraps the WAL to record appends, flush latency and batch sizes in <see cref="HostMetrics"/>; otherwise it only delegates.</summary>
/// <remarks>Registered by <c>AddNv</c> over whatever <see cref="IWriteAheadLog"/> <c>AddNvWal</c> registered, so neither Nv.Wal nor the
/// pipeline carries metrics code. Every call, exception and durability guarantee is the inner log's.</remarks>
internal sealed class MeteredWriteAheadLog : IWriteAheadLog
{
    private readonly IWriteAheadLog _inner;
    private readonly HostMetrics _metrics;
    private long _appendedSinceFlush;

    public MeteredWriteAheadLog(IWriteAheadLog inner, HostMetrics metrics)
    {
        _inner = inner;
        _metrics = metrics;
        metrics.Attach(this);
    }

    public WalState State => _inner.State;

    public WalRecoveryReport Recovery => _inner.Recovery;

    public Lsn LastLsn => _inner.LastLsn;

    public Lsn DurableLsn => _inner.DurableLsn;

    public Lsn AppliedLsn => _inner.AppliedLsn;

    public Lsn AuditedLsn => _inner.AuditedLsn;

    public async ValueTask<WalRecord> AppendAsync(WalRecord record, CancellationToken cancellationToken = default)
    {
        var stored = await _inner.AppendAsync(record, cancellationToken);
        Interlocked.Increment(ref _appendedSinceFlush);
        _metrics.Appended();
        return stored;
    }

    public async ValueTask FlushAsync(Lsn upTo, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await _inner.FlushAsync(upTo, cancellationToken);
        _metrics.Flushed(Stopwatch.GetElapsedTime(started), Interlocked.Exchange(ref _appendedSinceFlush, 0));
    }

    public ValueTask ContinueAfterAsync(Lsn highestSeen, CancellationToken cancellationToken = default) => _inner.ContinueAfterAsync(highestSeen, cancellationToken);

    public IAsyncEnumerable<WalRecord> ReadAsync(Lsn from, CancellationToken cancellationToken = default) => _inner.ReadAsync(from, cancellationToken);

    public void AdvanceApplied(Lsn lsn) => _inner.AdvanceApplied(lsn);

    public void AdvanceAudited(Lsn lsn) => _inner.AdvanceAudited(lsn);

    public void LowerWatermarks(Lsn applied, Lsn audited) => _inner.LowerWatermarks(applied, audited);

    public ValueTask PersistWatermarksAsync(CancellationToken cancellationToken = default) => _inner.PersistWatermarksAsync(cancellationToken);

    public ValueTask<Lsn> TruncateAsync(CancellationToken cancellationToken = default) => _inner.TruncateAsync(cancellationToken);

    public WalStatistics GetStatistics() => _inner.GetStatistics();

    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}
