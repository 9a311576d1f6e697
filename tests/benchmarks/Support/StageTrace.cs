using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Nv.Benchmarks.Support;

/// <summary>Listens to Nv's batch activities (WAL flush, apply, audit) during a run and prints, per stage, how many
/// batches ran, their median and p99 duration, the median batch size and the share of the run the stage was busy: where
/// a caller's latency goes at a given load. Each write gets a bare activity (no tags) so that its batches have spans:
/// a traced run is a little slower than an untraced one.</summary>
internal sealed class StageTrace : IDisposable
{
    private static readonly string[] Stages = ["nv.wal.flush", "nv.apply", "nv.audit"];
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<(string Stage, double Ms, int Size)> _batches = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public StageTrace()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Nv",
            // A batch span exists only when its writes have one: writes get a bare activity (no tags), batches all data.
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                Array.IndexOf(Stages, options.Name) >= 0 ? ActivitySamplingResult.AllData
                : options.Name == "nv.write" ? ActivitySamplingResult.PropagationData : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (Array.IndexOf(Stages, activity.OperationName) >= 0)
                {
                    var size = activity.GetTagItem("nv.batch.size") is int n ? n : 0;
                    _batches.Enqueue((activity.OperationName, activity.Duration.TotalMilliseconds, size));
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Print(TextWriter output)
    {
        var elapsedMs = _clock.Elapsed.TotalMilliseconds;
        output.WriteLine("  stage          batches   median ms   p99 ms   median size   busy %");
        foreach (var stage in Stages)
        {
            var rows = _batches.Where(b => b.Stage == stage).ToArray();
            if (rows.Length == 0)
            {
                continue;
            }

            var ms = rows.Select(r => r.Ms).Order().ToArray();
            var sizes = rows.Select(r => r.Size).Order().ToArray();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {stage,-14} {rows.Length,7} {ms[ms.Length / 2],11:F2} {ms[Math.Min(ms.Length - 1, (int)(ms.Length * 0.99))],8:F2} {sizes[sizes.Length / 2],13} {100 * ms.Sum() / elapsedMs,8:F0}"));
        }
    }

    public void Dispose() => _listener.Dispose();
}
