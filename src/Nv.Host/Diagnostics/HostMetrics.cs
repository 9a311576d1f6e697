using System.Diagnostics.Metrics;
using Nv.Wal;

namespace Nv.Host.Diagnostics;

/// <summary>The host's meter (<c>Nv.Host</c>): WAL appends, flush latency, batch sizes, applier lag, audit backlog, replay progress.</summary>
/// <remarks>Counters and histograms are recorded by <see cref="MeteredWriteAheadLog"/> (the pipeline's commit loop is the only
/// appender and flushes once per batch, so the records appended between two flushes are one batch). Gauges read the WAL's
/// positions when scraped. Thread-safe.</remarks>
internal sealed class HostMetrics : IDisposable
{
    public const string MeterName = "Nv.Host";

    private readonly Meter _meter;
    private readonly Counter<long> _appends;
    private readonly Histogram<double> _flushDuration;
    private readonly Histogram<long> _batchSize;
    private IWriteAheadLog? _wal;
    private Pipeline.PipelinePositions? _positions;
    private long _replayDone;
    private long _replayTotal;

    public HostMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _appends = _meter.CreateCounter<long>("nv.wal.appends", "{record}", "Records appended to the WAL.");
        _flushDuration = _meter.CreateHistogram<double>("nv.wal.flush.duration", "s", "Time to make a batch durable (group commit).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
        _batchSize = _meter.CreateHistogram<long>("nv.wal.batch.size", "{record}", "Records made durable by one flush.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
        _meter.CreateObservableGauge("nv.wal.lsn.last", () => Stat(s => s.LastLsn.Value), "{record}", "Last appended LSN.");
        _meter.CreateObservableGauge("nv.wal.lsn.durable", () => Stat(s => s.DurableLsn.Value), "{record}", "Every record at or below this LSN is durable.");
        _meter.CreateObservableGauge("nv.wal.size", () => Stat(s => s.SizeBytes), "By", "Bytes of WAL segments on disk.");
        _meter.CreateObservableGauge("nv.applier.lag", () => Stat(s => Math.Max(0, s.DurableLsn.Value - Applied(s))), "{record}",
            "Durable WAL records the database does not reflect yet (durable − applied).");
        _meter.CreateObservableGauge("nv.audit.backlog", () => Stat(s => Math.Max(0, Applied(s) - Audited(s))), "{record}",
            "Applied records whose audit entry is not committed yet (applied − audited).");
        _meter.CreateObservableGauge("nv.store.durable.lag", () => Stat(s => Math.Max(0, Applied(s) - s.AppliedLsn.Value)), "{record}",
            "Applied records the database has not made durable yet (a power loss would make boot replay redo them).");
        _meter.CreateObservableGauge("nv.replay.records.done", () => Interlocked.Read(ref _replayDone), "{record}", "Boot replay: records processed.");
        _meter.CreateObservableGauge("nv.replay.records.total", () => Interlocked.Read(ref _replayTotal), "{record}", "Boot replay: records to process.");
    }

    /// <summary>Lets the gauges read the WAL (called by the decorator once the log is open).</summary>
    public void Attach(IWriteAheadLog wal) => Volatile.Write(ref _wal, wal);

    /// <summary>Lets the gauges read the pipeline's in-memory positions (ahead of the WAL's durable watermarks).</summary>
    public void Attach(Pipeline.PipelinePositions positions) => Volatile.Write(ref _positions, positions);

    private long Applied(WalStatistics wal) => Math.Max(wal.AppliedLsn.Value, Volatile.Read(ref _positions)?.Applied.Value ?? 0);

    private long Audited(WalStatistics wal) => Math.Max(wal.AuditedLsn.Value, Volatile.Read(ref _positions)?.Audited.Value ?? 0);

    public void Appended() => _appends.Add(1);

    public void Flushed(TimeSpan duration, long batchSize)
    {
        _flushDuration.Record(duration.TotalSeconds);
        if (batchSize > 0)
        {
            _batchSize.Record(batchSize);
        }
    }

    /// <summary>Boot replay progress callback (done, total).</summary>
    public void ReplayProgress(long done, long total)
    {
        Interlocked.Exchange(ref _replayDone, done);
        Interlocked.Exchange(ref _replayTotal, total);
    }

    private IEnumerable<Measurement<long>> Stat(Func<WalStatistics, long> select)
    {
        if (Volatile.Read(ref _wal) is not { } wal)
        {
            return [];
        }

        try
        {
            return [new Measurement<long>(select(wal.GetStatistics()))];
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            return [];
        }
    }

    public void Dispose() => _meter.Dispose();
}
