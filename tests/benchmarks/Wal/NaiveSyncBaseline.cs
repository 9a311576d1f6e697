using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Nv.Benchmarks.Support;
using Nv.Wal.IO;

namespace Nv.Benchmarks.Wal;

/// <summary>The comparison points measured in the same run as Nv: a naive log (every record written and made durable
/// on its own: FileStream write + checked fdatasync, one at a time) and the raw disk limit (fdatasync after each 4 KiB
/// append, one stream).</summary>
internal static class NaiveSyncBaseline
{
    /// <summary>Each writer appends its record and fdatasyncs under one lock: no group commit, ~1 sync per record.</summary>
    public static async Task<LatencyRecorder.Result> MeasureAsync(int writers, TimeSpan duration, byte[] record)
    {
        using var dir = new BenchDirectory("wal-naive");
        var path = Path.Combine(dir.Path, "naive.log");
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
        var gate = new Lock();
        var recorder = new LatencyRecorder(writers);
        using var stop = new CancellationTokenSource(duration);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                lock (gate)
                {
                    stream.Write(record);
                    NativeFileSync.Fdatasync(stream.SafeFileHandle, path);
                }

                recorder.Record(w, start);
            }
        })));
        return recorder.Summarize(clock.Elapsed);
    }

    /// <summary>The disk's synchronous-write limit: 4 KiB appends, each followed by a checked fdatasync, one stream.</summary>
    public static DiskLimit MeasureDiskLimit(TimeSpan duration)
    {
        using var dir = new BenchDirectory("wal-disk");
        var path = Path.Combine(dir.Path, "disk.bin");
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        var block = new byte[4096];
        Random.Shared.NextBytes(block);
        var latencies = new List<long>(1 << 14);
        var offset = 0L;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            var start = Stopwatch.GetTimestamp();
            RandomAccess.Write(handle, block, offset);
            NativeFileSync.Fdatasync(handle, path);
            latencies.Add(Stopwatch.GetTimestamp() - start);
            offset += block.Length;
        }

        latencies.Sort();
        var p50 = latencies[latencies.Count / 2] * 1000.0 / Stopwatch.Frequency;
        return new DiskLimit(latencies.Count / clock.Elapsed.TotalSeconds, p50);
    }

    /// <summary>fdatasync'ed 4 KiB appends per second and their median latency.</summary>
    internal sealed record DiskLimit(double SyncsPerSecond, double P50Ms);
}
