using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Nv.Benchmarks.Support;
using Nv.Host.Pipeline;

namespace Nv.Benchmarks.Pipeline;

/// <summary>Entities written per second through atomic batches of 1, 10 and 100 items, beside single writes, at the same
/// number of callers and in the same run (ratios are what compare; the disk varies from day to day).</summary>
/// <remarks>Run: <c>./build.sh bench batch [--sizes 1,10,100] [--callers 16] [--seconds 5] [--rounds 3]</c>. 1 KiB
/// entities, every item a create of a new entity (so no batch is rejected); ack Applied. A batch is one WAL record and
/// one set of rows in the database transaction of its apply chunk, with one audit entry per entity, so its cost per
/// entity falls with its size until the audit append (per entity) dominates. The figure per cell is the median over the
/// rounds; p50/p99 are per request (one batch).</remarks>
internal static class BatchScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = Args.Ints(args, "--sizes", [1, 10, 100]);
        var callers = Args.Int(args, "--callers", 16);
        var seconds = Args.Int(args, "--seconds", 5);
        var rounds = Args.Int(args, "--rounds", 3);
        var payloadBytes = Args.Int(args, "--payload-bytes", 1000);
        var payload = JsonSerializer.SerializeToElement(new { name = "entity", blob = new string('x', payloadBytes) });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch: {payloadBytes} B entities, creates, {callers} callers, {seconds} s per cell, median of {rounds} rounds"));
        await MeasureAsync(0, callers, Math.Min(2, seconds), payload); // warm-up
        Console.WriteLine("     mode | requests/s |  entities/s |   p50 ms   p99 ms | entities/s vs single writes");
        var single = 0.0;
        foreach (var size in new[] { 0 }.Concat(sizes))
        {
            var results = new List<LatencyRecorder.Result>();
            for (var r = 0; r < rounds; r++)
            {
                results.Add(await MeasureAsync(size, callers, seconds, payload));
            }

            var m = PipelineScenario.Median(results);
            var entities = m.PerSecond * Math.Max(1, size);
            if (size == 0)
            {
                single = entities;
            }

            var mode = size == 0 ? "single" : "batch " + size.ToString(CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode,9} | {m.PerSecond,10:F0} | {entities,11:F0} | {m.P50Ms,8:F2} {m.P99Ms,8:F2} | {entities / single,6:F2}x"));
        }

        return 0;
    }

    /// <summary>One cell: <paramref name="size"/> 0 = single writes, else batches of that many creates.</summary>
    internal static async Task<LatencyRecorder.Result> MeasureAsync(int size, int callers, int seconds, JsonElement payload)
    {
        using var dir = new BenchDirectory("batch");
        // Batches of up to ~800 1 KiB items fit the default limits (1000 items, 960 KiB); larger ones need raised limits
        // (and Nv:Wal:MaxRecordBytes, at most a WAL page).
        var limits = new Dictionary<string, string?>
        {
            ["Nv:Pipeline:MaxBatchItems"] = Math.Max(1000, size).ToString(CultureInfo.InvariantCulture),
        };
        await using var nv = await NvInstance.StartAsync(dir.Path, configure: c => c.AddInMemoryCollection(limits));
        return await ClosedLoop.RunAsync(callers, seconds, async (c, i) =>
        {
            var requestId = string.Create(CultureInfo.InvariantCulture, $"c{c}-{i}");
            if (size == 0)
            {
                var outcome = await nv.Pipeline.WriteAsync(new WriteRequest
                {
                    RequestId = requestId,
                    Operation = Nv.Wal.WalOperation.Create,
                    DtoType = "Entity",
                    EntityId = requestId,
                    Payload = payload,
                    UserId = "bench",
                });
                Expect(outcome.Status, requestId, outcome.Detail);
                return;
            }

            var items = new BatchItem[size];
            for (var k = 0; k < size; k++)
            {
                items[k] = new BatchItem
                {
                    Operation = BatchOperation.Create,
                    DtoType = k % 2 == 0 ? "Entity" : "Other",
                    EntityId = string.Create(CultureInfo.InvariantCulture, $"{requestId}-{k}"),
                    Payload = payload,
                };
            }

            var batch = await nv.Pipeline.WriteBatchAsync(new BatchRequest { RequestId = requestId, Items = items, UserId = "bench" });
            Expect(batch.Status, requestId, batch.Detail);
        });
    }

    private static void Expect(WriteStatus status, string requestId, string? detail)
    {
        if (status != WriteStatus.Applied)
        {
            throw new InvalidOperationException($"unexpected {status} for {requestId}: {detail}");
        }
    }
}
