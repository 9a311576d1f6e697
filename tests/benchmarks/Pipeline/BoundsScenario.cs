using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Benchmarks.Support;
using Nv.DbWriter;
using Nv.Host.Pipeline;

namespace Nv.Benchmarks.Pipeline;

/// <summary>The write path at a given caller count for each ack level, next to what bounds it: the WAL path alone (apply
/// and audit made free) and the SQLite baselines (one FULL transaction per request; a naive group commit of up to 64
/// requests per FULL transaction; 64-request transactions back to back on one thread). Each row also shows the CPU time
/// the process spent per write, which on a 2-core machine bounds the rate at 2 s / (CPU per write), the bytes the process
/// allocated per write and the share of the run's wall time the garbage collector held every thread paused, and the
/// ratios the write-path issue targets are printed from the same run.</summary>
/// <remarks>Run: <c>./build.sh bench bounds [--callers 64] [--seconds 5] [--rounds 3] [--encryption] [--json] [--only 'name|name'] [--stages]</c>. With
/// <c>--encryption</c> the three ack levels also run with encryption at rest on (a master key file made for the run:
/// payloads sealed per subject in the WAL and the audit store, keys in the database) and the encrypted/plain ratios are
/// printed from the same run (target: within 15%). With <c>--stages</c> the last round also prints, per variant, the
/// batches of each stage (WAL flush, apply, audit): count, median and p99 duration, median size and busy share. 1 KiB entities, half
/// creates, half updates; the variants run round-robin, so every row's median is taken over the same stretch of machine
/// noise. With <c>--json</c> the table goes to stderr and stdout carries one JSON object
/// <c>{"rows":[{"name","writesPerSecond","p50Ms","p99Ms","cpuUsPerWrite"}]}</c> (last caller count). The "free" stages
/// are benchmark-only stand-ins (<see cref="DiscardingAuditSink"/>, <see cref="DiscardingDbWriter"/>), never a product
/// configuration. A short run measures what the callers see while the audit backlog may grow up to MaxLag;
/// <c>bench sustained</c> measures the rate the audit store keeps up with.</remarks>
internal static class BoundsScenario
{
    private sealed record Variant(string Name, Func<int, int, JsonElement, Task<LatencyRecorder.Result>> Measure);

    private static readonly JsonSerializerOptions CamelCase = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private sealed record Row(string Name, double WritesPerSecond, double P50Ms, double P99Ms, double CpuUsPerWrite);

    public static async Task<int> RunAsync(string[] args)
    {
        var callers = Args.Ints(args, "--callers", [64]);
        var seconds = Args.Int(args, "--seconds", 5);
        var rounds = Args.Int(args, "--rounds", 3);
        var json = Args.Flag(args, "--json");
        var table = json ? Console.Error : Console.Out;
        var kind = BenchPayload.Kind(args);
        var payload = BenchPayload.Create(kind, 1000);
        var encryption = Args.Flag(args, "--encryption");
        var stages = Args.Flag(args, "--stages");
        using var keyDir = new BenchDirectory("bounds-keys");
        var master = Path.Combine(keyDir.Path, "master.key");
        if (encryption)
        {
            Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        }

        Variant[] encrypted = encryption
            ?
            [
                new("nv: ack=durable, encrypted", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, ack: AckLevel.Durable, masterKeyFile: master)),
                new("nv: ack=applied, encrypted", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, ack: AckLevel.Applied, masterKeyFile: master)),
                new("nv: ack=audited, encrypted", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, ack: AckLevel.Audited, masterKeyFile: master)),
            ]
            : [];
        Variant[] variants =
        [
            new("nv: ack=durable", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, ack: AckLevel.Durable)),
            new("nv: ack=applied", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, ack: AckLevel.Applied)),
            new("nv: ack=audited", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, ack: AckLevel.Audited)),
            .. encrypted,
            new("nv: ack=applied, audit append free", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, FreeAudit)),
            new("nv: WAL path alone", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, FreeApplyAndAudit)),
            new("sqlite: 1 txn per request", SqliteBaseline.MeasureAsync),
            new("sqlite: group commit 64/txn", (c, s, p) => SqliteGroupCommitBaseline.MeasureAsync(c, s, p, 64)),
            new("sqlite: 64/txn back to back, no callers", (_, s, p) => SqliteGroupCommitBaseline.MeasureBackToBackAsync(s, p, 64)),
        ];

        if (Args.String(args, "--only") is { } only)
        {
            // A quick A/B of a few rows (name fragments separated by |); the ratios need their rows and are skipped.
            var fragments = only.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            variants = variants.Where(v => fragments.Any(f => v.Name.Contains(f, StringComparison.OrdinalIgnoreCase))).ToArray();
        }

        table.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bounds: 1 KiB {kind} entities, 50% create / 50% update, {seconds} s per cell, median of {rounds} rounds, {Environment.ProcessorCount} cores"));
        foreach (var variant in variants)
        {
            await variant.Measure(16, Math.Min(2, seconds), payload); // warm-up (JIT, tiering)
        }

        var rows = new List<Row>();
        foreach (var c in callers)
        {
            var results = variants.Select(_ => new List<(LatencyRecorder.Result Result, double CpuUs, double AllocKb, double GcPercent)>()).ToArray();
            for (var r = 0; r < rounds; r++)
            {
                for (var v = 0; v < variants.Length; v++)
                {
                    using var trace = stages && r == rounds - 1 ? new StageTrace() : null;
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var allocated = GC.GetTotalAllocatedBytes();
                    var paused = GC.GetTotalPauseDuration();
                    var wall = Stopwatch.GetTimestamp();
                    var result = await variants[v].Measure(c, seconds, payload);
                    var spent = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                    var allocKb = (GC.GetTotalAllocatedBytes() - allocated) / 1024.0 / Math.Max(1, result.Operations);
                    var gcPercent = 100 * (GC.GetTotalPauseDuration() - paused) / Stopwatch.GetElapsedTime(wall);
                    if (trace is not null)
                    {
                        table.WriteLine($"{variants[v].Name} (last round: {result.PerSecond:F0} writes/s), stage batches:");
                        trace.Print(table);
                    }

                    results[v].Add((result, spent.TotalMicroseconds / Math.Max(1, result.Operations), allocKb, gcPercent));
                }
            }

            rows.Clear();
            table.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c + " callers",-40} |   writes/s   p50 ms   p99 ms | CPU us/write | 2-core CPU bound/s | alloc KB/write  GC pause %"));
            for (var v = 0; v < variants.Length; v++)
            {
                var median = results[v].OrderBy(x => x.Result.PerSecond).ElementAt(results[v].Count / 2);
                var cpuUs = results[v].Select(x => x.CpuUs).Order().ElementAt(results[v].Count / 2);
                var allocKb = results[v].Select(x => x.AllocKb).Order().ElementAt(results[v].Count / 2);
                var gcPercent = results[v].Select(x => x.GcPercent).Order().ElementAt(results[v].Count / 2);
                rows.Add(new Row(variants[v].Name, median.Result.PerSecond, median.Result.P50Ms, median.Result.P99Ms, cpuUs));
                table.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{variants[v].Name,-40} | {median.Result.PerSecond,10:F0} {median.Result.P50Ms,8:F2} {median.Result.P99Ms,8:F2} | {cpuUs,12:F0} | {Environment.ProcessorCount * 1e6 / cpuUs,18:F0} | {allocKb,14:F1} {gcPercent,11:F1}"));
            }

            if (!args.Contains("--only"))
            {
                PrintRatios(table, rows);
            }
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { rows }, CamelCase));
        }

        return 0;
    }

    // The write-path issue's targets, as same-run ratios.
    private static void PrintRatios(TextWriter table, List<Row> rows)
    {
        double Rate(string name) => rows.First(r => r.Name == name).WritesPerSecond;
        var perRequest = Rate("sqlite: 1 txn per request");
        var groupCommit = Rate("sqlite: group commit 64/txn");
        (string Label, double Ratio, double Target)[] ratios =
        [
            ("ack=applied / sqlite 1 txn per request", Rate("nv: ack=applied") / perRequest, 5.0),
            ("ack=applied / sqlite group commit 64/txn", Rate("nv: ack=applied") / groupCommit, 0.8),
            ("ack=durable / WAL path alone", Rate("nv: ack=durable") / Rate("nv: WAL path alone"), 0.8),
            ("ack=audited / sqlite 1 txn per request", Rate("nv: ack=audited") / perRequest, 2.5),
        ];
        foreach (var (label, ratio, target) in ratios)
        {
            table.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {label,-42} {ratio,6:F2}x  (target >= {target:F1}x: {(ratio >= target ? "met" : "not met")})"));
        }

        // Encryption at rest (issue 16): the encrypted pipeline within 15% of the plain one, per ack level.
        foreach (var ack in new[] { "durable", "applied", "audited" })
        {
            if (rows.FirstOrDefault(r => r.Name == $"nv: ack={ack}, encrypted") is { } sealedRow)
            {
                var ratio = sealedRow.WritesPerSecond / Rate($"nv: ack={ack}");
                table.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {"ack=" + ack + " encrypted / plain",-42} {ratio,6:F2}x  (target >= 0.85x: {(ratio >= 0.85 ? "met" : "not met")})"));
            }
        }
    }

    private static void FreeAudit(IServiceCollection services) => services.AddSingleton<IAuditSink, DiscardingAuditSink>();

    private static void FreeApplyAndAudit(IServiceCollection services)
    {
        FreeAudit(services);
        services.AddSingleton<IDbWriter, DiscardingDbWriter>();
    }
}
