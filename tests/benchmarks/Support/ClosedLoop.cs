using System.Diagnostics;

namespace Nv.Benchmarks.Support;

/// <summary>Closed-loop load: each of N callers runs one operation after another until the time is up, and every
/// operation's latency is recorded.</summary>
internal static class ClosedLoop
{
    /// <param name="callers">Concurrent callers, each on its own task.</param>
    /// <param name="seconds">How long to run.</param>
    /// <param name="operation">One operation of caller <c>c</c>, its <c>i</c>-th (0-based); timed as a whole.</param>
    public static async Task<LatencyRecorder.Result> RunAsync(int callers, int seconds, Func<int, int, Task> operation)
    {
        var recorder = new LatencyRecorder(callers);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await operation(c, i);
                recorder.Record(c, start);
            }
        })));
        return recorder.Summarize(clock.Elapsed);
    }
}
