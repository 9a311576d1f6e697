using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Nv.Benchmarks.Support;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Benchmarks.Pipeline;

/// <summary>End-to-end durable writes/s and p50/p99 latency through the real pipeline (WAL fsync + SQLite FULL commit
/// + hash-chained audit entry) at several caller counts, against a baseline measured in the same run: each request in
/// its own SQLite transaction (synchronous=FULL) updating the entity and inserting an audit row.</summary>
/// <remarks>Run: <c>./build.sh bench pipeline [--callers 1,16,64,256] [--seconds 10] [--rounds 3]</c>. 1 KiB entities,
/// half creates, half updates. The figure per cell is the median over the rounds.</remarks>
internal static class PipelineScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var callers = Args.Ints(args, "--callers", [1, 16, 64, 256]);
        var seconds = Args.Int(args, "--seconds", 5);
        var rounds = Args.Int(args, "--rounds", 3);
        var payload = BenchPayload.Create(BenchPayload.Kind(args), 1000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pipeline: 1 KiB entities, 50% create / 50% update, {seconds} s per cell, median of {rounds} rounds"));
        // Warm-up: JIT and tiered compilation would otherwise be charged to the first cell.
        await MeasureNvAsync(16, Math.Min(3, seconds), payload);
        await SqliteBaseline.MeasureAsync(16, Math.Min(3, seconds), payload);
        Console.WriteLine("callers |   nv writes/s   p50 ms   p99 ms | baseline writes/s   p50 ms   p99 ms | nv/baseline");
        foreach (var c in callers)
        {
            var nv = new List<LatencyRecorder.Result>();
            var baseline = new List<LatencyRecorder.Result>();
            for (var r = 0; r < rounds; r++)
            {
                nv.Add(await MeasureNvAsync(c, seconds, payload));
                baseline.Add(await SqliteBaseline.MeasureAsync(c, seconds, payload));
            }

            var n = Median(nv);
            var b = Median(baseline);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{c,7} | {n.PerSecond,14:F0} {n.P50Ms,8:F2} {n.P99Ms,8:F2} | {b.PerSecond,17:F0} {b.P50Ms,8:F2} {b.P99Ms,8:F2} | {n.PerSecond / b.PerSecond,10:F1}x"));
        }

        return 0;
    }

    internal static LatencyRecorder.Result Median(List<LatencyRecorder.Result> results) =>
        results.OrderBy(r => r.PerSecond).ElementAt(results.Count / 2);

    internal static async Task<LatencyRecorder.Result> MeasureNvAsync(
        int callers, int seconds, JsonElement payload, Action<IServiceCollection>? services = null, AckLevel ack = AckLevel.Applied,
        string? masterKeyFile = null)
    {
        using var dir = new BenchDirectory("pipeline");
        await using var nv = await NvInstance.StartAsync(dir.Path, services: services, configure: masterKeyFile is null ? null : c => c.AddInMemoryCollection(
            new Dictionary<string, string?> { ["Nv:Encryption:MasterKeyFile"] = masterKeyFile }));
        var expected = ack == AckLevel.Durable ? WriteStatus.Accepted : WriteStatus.Applied;
        return await ClosedLoop.RunAsync(callers, seconds, async (c, i) =>
        {
            var create = i % 2 == 0;
            var request = new WriteRequest
            {
                RequestId = string.Create(CultureInfo.InvariantCulture, $"c{c}-{i}"),
                Operation = create ? WalOperation.Create : WalOperation.Update,
                DtoType = "Entity",
                EntityId = string.Create(CultureInfo.InvariantCulture, $"c{c}-{i / 2}"),
                Payload = payload,
                UserId = "bench",
                Ack = ack,
            };
            var outcome = await nv.Pipeline.WriteAsync(request);
            // At ack=durable the answer may already be Applied (the apply won the race with the reply): stronger, fine.
            if (outcome.Status != expected && !(ack == AckLevel.Durable && outcome.Status == WriteStatus.Applied))
            {
                throw new InvalidOperationException($"unexpected {outcome.Status} for {request.RequestId}: {outcome.Detail}");
            }
        });
    }
}
