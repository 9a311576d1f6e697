using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Sqlite;
using Nv.Benchmarks.Support;
using Nv.Wal;

namespace Nv.Benchmarks.Audit;

/// <summary>What progress reporting costs <c>nv audit verify</c>: one SQLite trail, verified round after round without a
/// listener, with one at the default interval (what the CLI passes), and with one at a zero interval (a report every 1024
/// entries, the most the reporter ever makes), the variants interleaved in one process so load changes hit them alike.</summary>
/// <remarks>Run: <c>./build.sh bench audit-verify-progress [--entries 1000000] [--rounds 3] [--payload-bytes 500]</c>.</remarks>
internal static class AuditVerifyProgressScenario
{
    private sealed class Counter : IProgress<AuditProgress>
    {
        public long Reports { get; private set; }

        public void Report(AuditProgress value) => Reports++;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var count = Args.Int(args, "--entries", 1_000_000);
        var rounds = Args.Int(args, "--rounds", 3);
        var payload = BenchPayload.Create(BenchPayload.Kind(args), Args.Int(args, "--payload-bytes", 500));
        using var dir = new BenchDirectory("audit-verify-progress");
        var options = new AuditOptions { DataDirectory = dir.Path, CheckpointEveryEntries = 100_000 };
        var sink = AuditSinks.OpenSqlite(options);
        try
        {
            var build = Stopwatch.StartNew();
            for (var start = 0; start < count; start += 8192)
            {
                var batch = new List<AuditEntry>(8192);
                for (var i = start; i < Math.Min(count, start + 8192); i++)
                {
                    batch.Add(AuditEntryFactory.FromWalRecord(new WalRecord
                    {
                        Id = Guid.CreateVersion7(),
                        Lsn = new Lsn(i + 1),
                        Service = "bench",
                        Version = 1,
                        Timestamp = DateTimeOffset.UtcNow,
                        Operation = WalOperation.Update,
                        DtoType = "Entity",
                        EntityId = "e-" + (i % 5000).ToString(CultureInfo.InvariantCulture),
                        Payload = payload,
                        ReplayKey = "bench:bench:1:Entity:e",
                        RequestId = Guid.NewGuid().ToString("N"),
                        UserId = "user-" + (i % 50).ToString(CultureInfo.InvariantCulture),
                    }, null, payload));
                }

                await sink.AppendAsync(batch);
            }

            await ((IAuditProofs)sink).CheckpointAllAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"audit-verify-progress: {count} entries written in {build.Elapsed.TotalSeconds:F1} s"));

            var store = (SqliteAuditSink)sink;
            var proofs = (IAuditProofs)sink;
            await proofs.VerifyAsync(null, CancellationToken.None); // warm-up (JIT, page cache), not counted
            var process = Process.GetCurrentProcess();
            var cpu = new Dictionary<string, List<double>> { ["none"] = [], ["default"] = [], ["every-1024"] = [] };
            var times = new Dictionary<string, List<double>> { ["none"] = [], ["default"] = [], ["every-1024"] = [] };
            for (var round = 1; round <= rounds; round++)
            {
                var line = new List<string>();
                foreach (var variant in round % 2 == 0 ? times.Keys.Reverse().ToArray() : times.Keys.ToArray())
                {
                    store.ProgressInterval = variant == "every-1024" ? TimeSpan.Zero : TimeSpan.FromMilliseconds(250);
                    var counter = variant == "none" ? null : new Counter();
                    process.Refresh();
                    var cpuBefore = process.TotalProcessorTime;
                    var clock = Stopwatch.StartNew();
                    var result = await proofs.VerifyAsync(null, counter, CancellationToken.None);
                    var seconds = clock.Elapsed.TotalSeconds;
                    process.Refresh();
                    cpu[variant].Add((process.TotalProcessorTime - cpuBefore).TotalSeconds);
                    if (!result.IsValid || result.EntriesChecked != count)
                    {
                        throw new InvalidOperationException($"verification failed: {result.Reason}");
                    }

                    times[variant].Add(seconds);
                    line.Add(string.Create(CultureInfo.InvariantCulture, $"{variant} {seconds:F2} s, CPU {cpu[variant][^1]:F2} s ({counter?.Reports ?? 0} reports)"));
                }

                Console.WriteLine($"round {round}: " + string.Join(", ", line));
            }

            var baseline = Median(times["none"]);
            var cpuBaseline = Median(cpu["none"]);
            foreach (var (variant, values) in times)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{variant,-11} median {Median(values):F2} s ({Median(values) / baseline:F3}× none), CPU {Median(cpu[variant]):F2} s ({Median(cpu[variant]) / cpuBaseline:F3}× none)"));
            }

            return 0;
        }
        finally
        {
            await sink.DisposeAsync();
            SqliteConnection.ClearAllPools();
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
