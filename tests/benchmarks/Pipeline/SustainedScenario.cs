using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Benchmarks.Support;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Benchmarks.Pipeline;

/// <summary>Writes at full speed for a while and samples, every second, the write rate and the backlogs the lag gate
/// bounds; after the load stops it reports how long the audit backlog takes to drain.</summary>
/// <remarks>Run: <c>./build.sh bench sustained [--ack applied] [--seconds 60] [--callers 64]</c>. The claims checked: the
/// audit backlog never passes MaxLag (records), and it drains to 0 within 5 s after the load stops. The sustained rate
/// (whole run) is printed next to the short-run rate (the first 5 s, what <c>bench bounds</c> measures).</remarks>
internal static class SustainedScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Args.Int(args, "--seconds", 60);
        var callers = Args.Int(args, "--callers", 64);
        var ackIndex = Array.IndexOf(args, "--ack");
        var ack = ackIndex >= 0 && ackIndex + 1 < args.Length ? Enum.Parse<AckLevel>(args[ackIndex + 1], ignoreCase: true) : AckLevel.Applied;
        var kind = BenchPayload.Kind(args);
        var payload = BenchPayload.Create(kind, 1000);
        var expected = ack == AckLevel.Durable ? WriteStatus.Accepted : WriteStatus.Applied;

        using var dir = new BenchDirectory("sustained");
        await using var nv = await NvInstance.StartAsync(dir.Path);
        var pipeline = nv.Services.GetRequiredService<WritePipeline>();
        var wal = nv.Services.GetRequiredService<IWriteAheadLog>();
        var options = nv.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PipelineOptions>>().Value;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sustained: ack={ack.ToString().ToLowerInvariant()}, {callers} callers, 1 KiB {kind} entities (50% create / 50% update), {seconds} s; MaxLag {options.MaxLagRecords} records / {options.MaxLagTime.TotalSeconds:F1} s"));
        Console.WriteLine("   s |  writes/s | audit backlog | apply backlog | held back by");

        long done = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var clock = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var outcome = await nv.Pipeline.WriteAsync(new WriteRequest
                {
                    RequestId = string.Create(CultureInfo.InvariantCulture, $"s{c}-{i}"),
                    Operation = i % 2 == 0 ? WalOperation.Create : WalOperation.Update,
                    DtoType = "Entity",
                    EntityId = string.Create(CultureInfo.InvariantCulture, $"s{c}-{i / 2}"),
                    Payload = payload,
                    UserId = "bench",
                    Ack = ack,
                });
                if (outcome.Status != expected)
                {
                    throw new InvalidOperationException($"unexpected {outcome.Status}: {outcome.Detail}");
                }

                Interlocked.Increment(ref done);
            }
        })).ToArray();

        long maxBacklog = 0;
        long previous = 0;
        long firstFive = 0;
        for (var s = 1; !Task.WhenAll(writers).IsCompleted; s++)
        {
            await Task.WhenAny(Task.WhenAll(writers), Task.Delay(TimeSpan.FromSeconds(s) - clock.Elapsed));
            var now = Interlocked.Read(ref done);
            var backlog = pipeline.Positions.AuditBacklog;
            maxBacklog = Math.Max(maxBacklog, backlog);
            if (s == 5)
            {
                firstFive = now;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s,4} | {now - previous,9} | {backlog,13} | {pipeline.Positions.ApplyBacklog(wal.DurableLsn),13} | {pipeline.Backpressure ?? "-"}"));
            previous = now;
        }

        await Task.WhenAll(writers);
        var elapsed = clock.Elapsed;
        var total = Interlocked.Read(ref done);
        var drain = Stopwatch.StartNew();
        while (pipeline.Positions.AuditBacklog > 0 && drain.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(10);
        }

        var drained = pipeline.Positions.AuditBacklog == 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sustained rate: {total / elapsed.TotalSeconds:F0} writes/s over {elapsed.TotalSeconds:F1} s; short-run rate (first 5 s): {firstFive / 5.0:F0} writes/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"largest audit backlog sampled: {maxBacklog} records (MaxLag {options.MaxLagRecords}: {(maxBacklog <= options.MaxLagRecords ? "within" : "EXCEEDED")}); writers held back {pipeline.BackpressureWaits} times"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"audit backlog after the load stopped: {(drained ? $"drained to 0 in {drain.Elapsed.TotalSeconds:F2} s" : "NOT drained within 60 s")} (target: within 5 s)"));
        return drained && maxBacklog <= options.MaxLagRecords ? 0 : 1;
    }
}
