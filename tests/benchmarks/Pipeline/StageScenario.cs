using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Nv.Audit;
using Nv.Benchmarks.Support;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Benchmarks.Pipeline;

/// <summary>The ceiling of each pipeline stage on its own, one batch after another on real files: WAL append + flush,
/// SQLite apply (synchronous=FULL), audit append (hash chain + Merkle leaves, synchronous=FULL).</summary>
/// <remarks>Run: <c>./build.sh bench stages [--batches 16,64,256] [--seconds 3] [--no-wal] [--payload-bytes 1000]</c>. 1 KiB entities by default, half creates, half
/// updates of the entity created just before (so updates carry a before image and a diff). A stage's records/s at batch
/// size B bounds the pipeline's throughput when that stage's batches are B records.</remarks>
internal static class StageScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var batches = Args.Ints(args, "--batches", [16, 64, 256]);
        var seconds = Args.Int(args, "--seconds", 3);
        var payloadBytes = Args.Int(args, "--payload-bytes", 1000);
        var payload = BenchPayload.Create(BenchPayload.Kind(args), payloadBytes);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stages: {payloadBytes}-byte blob per entity, 50% create / 50% update, {seconds} s per cell, one stage at a time"));
        Console.WriteLine("batch |  wal rec/s  ms/batch |  apply rec/s  ms/batch |  audit rec/s  ms/batch  cpu µs/rec");
        foreach (var b in batches)
        {
            var wal = args.Contains("--no-wal") ? default : await MeasureWalAsync(b, seconds, payload);
            var (apply, audit) = await MeasureApplyAndAuditAsync(b, seconds, payload);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{b,5} | {wal.PerSecond,10:F0} {wal.MsPerBatch,9:F2} | {apply.PerSecond,12:F0} {apply.MsPerBatch,9:F2} | {audit.PerSecond,12:F0} {audit.MsPerBatch,9:F2} {audit.CpuMicrosPerRecord,11:F1}"));
        }

        return 0;
    }

    private readonly record struct Cell(double PerSecond, double MsPerBatch, double CpuMicrosPerRecord = 0);

    private static async Task<Cell> MeasureWalAsync(int batch, int seconds, JsonElement payload)
    {
        using var dir = new BenchDirectory("stage-wal");
        await using var wal = WriteAheadLog.Open(new WalOptions { Directory = dir.Path });
        var times = new List<double>();
        long n = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var start = Stopwatch.GetTimestamp();
            var last = Lsn.None;
            for (var i = 0; i < batch; i++)
            {
                last = (await wal.AppendAsync(Record(n++, payload))).Lsn;
            }

            await wal.FlushAsync(last);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return new Cell(n / clock.Elapsed.TotalSeconds, Median(times));
    }

    private static async Task<(Cell Apply, Cell Audit)> MeasureApplyAndAuditAsync(int batch, int seconds, JsonElement payload)
    {
        using var dir = new BenchDirectory("stage-db");
        await using var db = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = dir.Path });
        await db.InitializeAsync();
        var sink = AuditSinks.OpenSqlite(new AuditOptions { DataDirectory = dir.Path });
        await sink.InitializeAsync();
        try
        {
            var applyTimes = new List<double>();
            var auditTimes = new List<double>();
            double applySeconds = 0, auditSeconds = 0;
            var auditCpu = TimeSpan.Zero; // process CPU (all threads: the append and the store's background checkpoints) while appending
            var process = Process.GetCurrentProcess();
            long n = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds * 2)
            {
                var records = new WalRecord[batch];
                for (var i = 0; i < batch; i++)
                {
                    records[i] = Record(n, payload) with { Lsn = new Lsn(n + 1) };
                    n++;
                }

                var start = Stopwatch.GetTimestamp();
                var results = await db.ApplyAsync(records);
                var applied = Stopwatch.GetElapsedTime(start);
                var entries = new List<AuditEntry>(batch);
                for (var i = 0; i < batch; i++)
                {
                    entries.Add(AuditEntryFactory.FromWalRecord(records[i], results[i].Before, results[i].After));
                }

                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                await sink.AppendAsync(entries);
                process.Refresh();
                auditCpu += process.TotalProcessorTime - cpuBefore;
                var total = Stopwatch.GetElapsedTime(start);
                applyTimes.Add(applied.TotalMilliseconds);
                auditTimes.Add((total - applied).TotalMilliseconds);
                applySeconds += applied.TotalSeconds;
                auditSeconds += (total - applied).TotalSeconds;
            }

            return (new Cell(n / applySeconds, Median(applyTimes)), new Cell(n / auditSeconds, Median(auditTimes), auditCpu.TotalMicroseconds / n));
        }
        finally
        {
            await sink.DisposeAsync();
        }
    }

    // Even n creates entity n/2, odd n updates it.
    private static WalRecord Record(long n, JsonElement payload)
    {
        var id = "e" + (n / 2).ToString(CultureInfo.InvariantCulture);
        return new WalRecord
        {
            Id = Guid.CreateVersion7(),
            Service = "bench",
            Version = 1,
            Timestamp = DateTimeOffset.UtcNow,
            Operation = n % 2 == 0 ? WalOperation.Create : WalOperation.Update,
            DtoType = "Entity",
            EntityId = id,
            Payload = payload,
            ReplayKey = ReplayKey.Create("bench", "bench", 1, "Entity", id),
            RequestId = "r" + n.ToString(CultureInfo.InvariantCulture),
            UserId = "bench",
        };
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
