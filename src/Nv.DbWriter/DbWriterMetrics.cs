using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Nv.DbWriter;

/// <summary>The Nv.DbWriter meter: batch commit duration and record outcomes.</summary>
internal sealed class DbWriterMetrics : IDisposable
{
    public const string MeterName = "Nv.DbWriter";

    private readonly Meter _meter;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _records;

    public DbWriterMetrics(IMeterFactory? meterFactory)
    {
        // Without a factory (non-DI use) the meter is private to this writer; listeners still see it by name.
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _batchDuration = _meter.CreateHistogram<double>("nv.dbwriter.batch.duration", "s",
            "Time to apply and durably commit one batch, or to fail it.");
        _records = _meter.CreateCounter<long>("nv.dbwriter.records", "{record}", "Records applied, by outcome.");
    }

    public void BatchDone(TimeSpan elapsed, bool committed) =>
        _batchDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("nv.dbwriter.committed", committed));

    public void Records(ApplyStatus status, int count)
    {
        if (count > 0)
        {
            _records.Add(count, new TagList { { "nv.dbwriter.status", StatusTag(status) } });
        }
    }

    public void Dispose() => _meter.Dispose();

    private static string StatusTag(ApplyStatus status) => status switch
    {
        ApplyStatus.Applied => "applied",
        ApplyStatus.AlreadyApplied => "already_applied",
        ApplyStatus.Rejected => "rejected",
        _ => "transient",
    };
}
