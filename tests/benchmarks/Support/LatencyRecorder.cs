using System.Diagnostics;
using System.Numerics;

namespace Nv.Benchmarks.Support;

/// <summary>Collects per-operation latencies from many threads and reports throughput and percentiles.</summary>
/// <remarks>A log-linear histogram (128 sub-buckets per power of two: under 0.8% error on any percentile) in one 60 KB
/// array, so recording allocates nothing. It used to keep every sample in per-caller lists, 32 MB of large-object heap per
/// measurement at 64 callers: allocations that started a full GC inside the measured window of the system measured.</remarks>
internal sealed class LatencyRecorder
{
    private const int SubBits = 7;
    private const int Sub = 1 << SubBits;

    private readonly long[] _counts = new long[Sub + ((64 - SubBits) * Sub)];

    /// <param name="workers">Callers that record (kept for the callers' sake; the histogram is shared).</param>
    public LatencyRecorder(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
    }

    public void Record(int worker, long startTimestamp) =>
        Interlocked.Increment(ref _counts[Bucket(Math.Max(0, Stopwatch.GetTimestamp() - startTimestamp))]);

    public Result Summarize(TimeSpan elapsed)
    {
        var total = 0L;
        foreach (var count in _counts)
        {
            total += count;
        }

        double Ms(double q)
        {
            if (total == 0)
            {
                return 0;
            }

            var rank = (long)Math.Min(total - 1, q * total); // the sample a sorted array would hold at that index
            var seen = 0L;
            for (var b = 0; b < _counts.Length; b++)
            {
                seen += _counts[b];
                if (seen > rank)
                {
                    return Midpoint(b) * 1000.0 / Stopwatch.Frequency;
                }
            }

            return 0;
        }

        return new Result(total, total / elapsed.TotalSeconds, Ms(0.50), Ms(0.99));
    }

    // Values under 128 ticks have a bucket each; above, each power of two is split into 128 equal buckets.
    internal static int Bucket(long ticks)
    {
        if (ticks < Sub)
        {
            return (int)ticks;
        }

        var shift = 63 - BitOperations.LeadingZeroCount((ulong)ticks) - SubBits;
        return Sub + (shift * Sub) + (int)((ticks >> shift) - Sub);
    }

    internal static double Midpoint(int bucket)
    {
        if (bucket < Sub)
        {
            return bucket;
        }

        var shift = (bucket - Sub) / Sub;
        var top = Sub + ((bucket - Sub) % Sub);
        var low = (double)((long)top << shift);
        return low + ((Math.Pow(2, shift) - 1) / 2);
    }

    internal sealed record Result(long Operations, double PerSecond, double P50Ms, double P99Ms);
}
