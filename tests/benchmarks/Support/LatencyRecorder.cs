using System.Diagnostics;

namespace Nv.Benchmarks.Support;

/// <summary>Collects per-operation latencies from many threads and reports throughput and percentiles.</summary>
internal sealed class LatencyRecorder
{
    private readonly List<long>[] _perWorker;

    public LatencyRecorder(int workers)
    {
        _perWorker = Enumerable.Range(0, workers).Select(_ => new List<long>(1 << 16)).ToArray();
    }

    public void Record(int worker, long startTimestamp) => _perWorker[worker].Add(Stopwatch.GetTimestamp() - startTimestamp);

    public Result Summarize(TimeSpan elapsed)
    {
        var all = _perWorker.SelectMany(l => l).ToArray();
        Array.Sort(all);
        double Ms(double q) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, q * all.Length)] * 1000.0 / Stopwatch.Frequency;
        return new Result(all.Length, all.Length / elapsed.TotalSeconds, Ms(0.50), Ms(0.99));
    }

    internal sealed record Result(long Operations, double PerSecond, double P50Ms, double P99Ms);
}
