using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Nv.Benchmarks.Support;
using Nv.Wal;
using Nv.Wal.Framing;

namespace Nv.Benchmarks.Wal;

/// <summary>Durable appends/s and append+flush latency of Nv.Wal at several writer counts and payload sizes, against a
/// naive log (one fdatasync per record) and the raw disk limit measured in the same run; then recovery time and scan
/// speed of a large log.</summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project tests/benchmarks -- wal [--seconds 5] [--rounds 3] [--writers 1,16,64,256]
/// [--sizes 256,1024] [--recovery-records 1000000]</c> (<c>--recovery-records 0</c> skips recovery). Each writer loops
/// append + flush of its own record; one operation is that pair. Every figure is the median over the rounds; the disk
/// limit is re-measured in each round so load from other processes shows up in the ratios too.
/// </remarks>
internal static class WalScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var writers = Args.Ints(args, "--writers", [1, 16, 64, 256]);
        var sizes = Args.Ints(args, "--sizes", [256, 1024]);
        var seconds = TimeSpan.FromSeconds(Args.Int(args, "--seconds", 5));
        var rounds = Args.Int(args, "--rounds", 3);
        var recoveryRecords = Args.Int(args, "--recovery-records", 1_000_000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wal: {seconds.TotalSeconds:F0} s per cell, median of {rounds} rounds; dir {Environment.GetEnvironmentVariable("NV_BENCH_DIR") ?? Path.GetTempPath()}; load {LoadAverage()}"));
        Console.WriteLine("payload | writers |    nv rec/s  p50 ms  p99 ms | naive rec/s  p50 ms  p99 ms | disk fdatasync/s  p50 ms | nv/naive | nv rec per sync");
        foreach (var size in sizes)
        {
            foreach (var w in writers)
            {
                var nv = new List<LatencyRecorder.Result>();
                var naive = new List<LatencyRecorder.Result>();
                var disk = new List<NaiveSyncBaseline.DiskLimit>();
                for (var r = 0; r < rounds; r++)
                {
                    nv.Add(await MeasureNvAsync(w, size, seconds));
                    naive.Add(await NaiveSyncBaseline.MeasureAsync(w, seconds / 2, Frame(size)));
                    disk.Add(NaiveSyncBaseline.MeasureDiskLimit(TimeSpan.FromSeconds(1)));
                }

                var n = Median(nv);
                var b = Median(naive);
                var d = disk.OrderBy(x => x.SyncsPerSecond).ElementAt(disk.Count / 2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{size,5} B | {w,7} | {n.PerSecond,11:F0} {n.P50Ms,7:F2} {n.P99Ms,7:F2} | {b.PerSecond,11:F0} {b.P50Ms,7:F2} {b.P99Ms,7:F2} | {d.SyncsPerSecond,16:F0} {d.P50Ms,7:F2} | {n.PerSecond / b.PerSecond,7:F1}x | {n.PerSecond / d.SyncsPerSecond,15:F1}"));
            }
        }

        if (recoveryRecords > 0)
        {
            await MeasureRecoveryAsync(recoveryRecords, rounds);
        }

        Console.WriteLine($"load after: {LoadAverage()}");
        return 0;
    }

    private static LatencyRecorder.Result Median(List<LatencyRecorder.Result> results) =>
        results.OrderBy(r => r.PerSecond).ElementAt(results.Count / 2);

    private static async Task<LatencyRecorder.Result> MeasureNvAsync(int writers, int size, TimeSpan duration)
    {
        using var dir = new BenchDirectory("wal");
        await using var wal = WriteAheadLog.Open(new WalOptions { Directory = dir.Path });
        var recorder = new LatencyRecorder(writers);
        var payload = Payload(size);
        using var stop = new CancellationTokenSource(duration);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                var stored = await wal.AppendAsync(Record(w, i++, payload));
                await wal.FlushAsync(stored.Lsn);
                recorder.Record(w, start);
            }
        })));
        return recorder.Summarize(clock.Elapsed);
    }

    private static async Task MeasureRecoveryAsync(int records, int rounds)
    {
        using var dir = new BenchDirectory("wal-recovery");
        var walDir = Path.Combine(dir.Path, "wal");
        var crashImage = Path.Combine(dir.Path, "crash");
        var payload = Payload(256);
        var write = Stopwatch.StartNew();
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = walDir }))
        {
            for (var i = 0; i < records; i++)
            {
                var stored = await wal.AppendAsync(Record(0, i, payload));
                if (i % 4096 == 4095 || i == records - 1)
                {
                    await wal.FlushAsync(stored.Lsn);
                }
            }

            // A crash image: the files as a SIGKILL would leave them (flushed, no clean close, no final metadata).
            CopyDirectory(walDir, crashImage);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"recovery: wrote {records} records of 256 B payload in {write.Elapsed.TotalSeconds:F1} s ({records / write.Elapsed.TotalSeconds:F0}/s, flush every 4096)"));
        foreach (var (label, path) in new[] { ("clean close", walDir), ("crash image", crashImage) })
        {
            var opens = new List<double>();
            var scans = new List<double>();
            for (var r = 0; r < rounds; r++)
            {
                // Each round opens a fresh copy: the first open of a crash image may rebuild it.
                var copy = path + "-" + r.ToString(CultureInfo.InvariantCulture);
                CopyDirectory(path, copy);
                var open = Stopwatch.StartNew();
                await using var wal = WriteAheadLog.Open(new WalOptions { Directory = copy });
                opens.Add(open.Elapsed.TotalSeconds);
                if (wal.Recovery.RecordCount != records)
                {
                    throw new InvalidOperationException($"{label}: recovered {wal.Recovery.RecordCount} of {records} records ({wal.Recovery.Detail})");
                }

                var scan = Stopwatch.StartNew();
                var count = 0L;
                await foreach (var record in wal.ReadAsync(new Lsn(1)))
                {
                    count++;
                }

                scans.Add(count / scan.Elapsed.TotalSeconds);
            }

            opens.Sort();
            scans.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recovery ({label}): open + verify {records} records in {opens[opens.Count / 2]:F2} s (median; min {opens[0]:F2}, max {opens[^1]:F2}); scan {scans[scans.Count / 2]:F0} records/s"));
        }
    }

    private static JsonElement Payload(int size)
    {
        // {"blob":"xxx..."} is 11 bytes of JSON around the string.
        return JsonSerializer.SerializeToElement(new { blob = new string('x', Math.Max(1, size - 11)) });
    }

    private static WalRecord Record(int writer, int seq, JsonElement payload)
    {
        var entity = string.Create(CultureInfo.InvariantCulture, $"w{writer}-{seq}");
        return new WalRecord
        {
            Id = Guid.CreateVersion7(),
            Service = "bench",
            Version = 1,
            Timestamp = DateTimeOffset.UtcNow,
            Operation = WalOperation.Update,
            DtoType = "Entity",
            EntityId = entity,
            Payload = payload,
            ReplayKey = ReplayKey.Create("bench", "bench", 1, "Entity", entity),
            RequestId = entity,
        };
    }

    /// <summary>The bytes Nv would frame for a record of this payload size (what the naive baseline writes).</summary>
    private static byte[] Frame(int size) => WalRecordCodec.EncodeFrame(Record(0, 0, Payload(size)), 1 << 20, out _);

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            // nv.lock is flock'ed by the open log (and a crash leaves no lock behind).
            if (Path.GetFileName(file) != "nv.lock")
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            }
        }

        foreach (var sub in Directory.GetDirectories(from))
        {
            CopyDirectory(sub, Path.Combine(to, Path.GetFileName(sub)));
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
