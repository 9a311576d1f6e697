using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Benchmarks.Support;
using Nv.DbWriter;

namespace Nv.Benchmarks.Pipeline;

/// <summary>Where the pipeline's throughput goes at a given caller count: the full pipeline, the same pipeline with the
/// audit append made free, and with the database apply made free as well (the WAL path alone), next to the SQLite
/// baselines (one transaction per request; naive group commit of up to 64 per transaction; and 64-request transactions back to back on one thread with no callers, the issue's "batched 64 per transaction" figure). Each row also shows the CPU
/// time the process spent per write, which on a 2-core machine bounds the rate at 2 s / (CPU per write).</summary>
/// <remarks>Run: <c>./build.sh bench bounds [--callers 64] [--seconds 5] [--rounds 3]</c>. Same workload as
/// <c>bench pipeline</c> (1 KiB entities, half creates, half updates); the variants run round-robin, so every row's
/// median is taken over the same stretch of machine noise. The "free" stages are benchmark-only stand-ins
/// (<see cref="DiscardingAuditSink"/>, <see cref="DiscardingDbWriter"/>), never a product configuration.</remarks>
internal static class BoundsScenario
{
    private sealed record Variant(string Name, Func<int, int, JsonElement, Task<LatencyRecorder.Result>> Measure);

    public static async Task<int> RunAsync(string[] args)
    {
        var callers = Args.Ints(args, "--callers", [64]);
        var seconds = Args.Int(args, "--seconds", 5);
        var rounds = Args.Int(args, "--rounds", 3);
        var payload = JsonSerializer.SerializeToElement(new { name = "entity", blob = new string('x', 1000) });
        Variant[] variants =
        [
            new("nv: full pipeline", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p)),
            new("nv: audit append free", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, FreeAudit)),
            new("nv: apply + audit free (WAL path)", (c, s, p) => PipelineScenario.MeasureNvAsync(c, s, p, FreeApplyAndAudit)),
            new("sqlite: 1 txn per request", SqliteBaseline.MeasureAsync),
            new("sqlite: group commit 64/txn", (c, s, p) => SqliteGroupCommitBaseline.MeasureAsync(c, s, p, 64)),
            new("sqlite: 64/txn back to back, no callers", (_, s, p) => SqliteGroupCommitBaseline.MeasureBackToBackAsync(s, p, 64)),
        ];

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bounds: 1 KiB entities, 50% create / 50% update, {seconds} s per cell, median of {rounds} rounds, {Environment.ProcessorCount} cores"));
        foreach (var variant in variants)
        {
            await variant.Measure(16, Math.Min(2, seconds), payload); // warm-up (JIT, tiering)
        }

        foreach (var c in callers)
        {
            var results = variants.Select(_ => new List<(LatencyRecorder.Result Result, double CpuUs)>()).ToArray();
            for (var r = 0; r < rounds; r++)
            {
                for (var v = 0; v < variants.Length; v++)
                {
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var result = await variants[v].Measure(c, seconds, payload);
                    var spent = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                    results[v].Add((result, spent.TotalMicroseconds / Math.Max(1, result.Operations)));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c + " callers",-40} |   writes/s   p50 ms   p99 ms | CPU us/write | 2-core CPU bound/s"));
            for (var v = 0; v < variants.Length; v++)
            {
                var median = results[v].OrderBy(x => x.Result.PerSecond).ElementAt(results[v].Count / 2);
                var cpuUs = results[v].Select(x => x.CpuUs).Order().ElementAt(results[v].Count / 2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{variants[v].Name,-40} | {median.Result.PerSecond,10:F0} {median.Result.P50Ms,8:F2} {median.Result.P99Ms,8:F2} | {cpuUs,12:F0} | {Environment.ProcessorCount * 1e6 / cpuUs,18:F0}"));
            }
        }

        return 0;
    }

    private static void FreeAudit(IServiceCollection services) => services.AddSingleton<IAuditSink, DiscardingAuditSink>();

    private static void FreeApplyAndAudit(IServiceCollection services)
    {
        FreeAudit(services);
        services.AddSingleton<IDbWriter, DiscardingDbWriter>();
    }
}
