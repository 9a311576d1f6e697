using System.Globalization;
using System.Text.Json;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Cli.Commands;

/// <summary>A seeded mix of creates (40%), updates (40%) and deletes (20%) over a fixed set of entity ids.</summary>
internal sealed record Workload(int Count, int Writers, int Entities, int Seed, int PayloadBytes, string DtoType, string RunId)
{
    public async Task<LoadTally> RunAsync(IWritePipeline pipeline, TextWriter? acks, CancellationToken cancellationToken)
    {
        var tally = new LoadTally();
        var next = -1;
        var pad = new string('x', PayloadBytes);
        var tasks = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var random = new Random(HashCode.Combine(Seed, w));
            int i;
            while ((i = Interlocked.Increment(ref next)) < Count)
            {
                var request = Next(random, w, i, pad);
                try
                {
                    var outcome = await pipeline.WriteAsync(request, cancellationToken);
                    tally.Count(outcome.Status);
                    if (acks is not null)
                    {
                        var line = string.Create(CultureInfo.InvariantCulture,
                            $"ACK {outcome.RequestId} {outcome.Status} {outcome.Lsn} {request.Operation} {request.DtoType} {request.EntityId}");
                        lock (acks)
                        {
                            acks.WriteLine(line);
                        }
                    }
                }
                catch (WalFaultedException)
                {
                    tally.Fail();
                    throw;
                }
            }
        }, cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (WalFaultedException ex)
        {
            Console.Error.WriteLine("nv: error: " + ex.Message);
        }

        return tally;
    }

    private WriteRequest Next(Random random, int writer, int i, string pad)
    {
        var roll = random.Next(100);
        var operation = roll < 40 ? WalOperation.Create : roll < 80 ? WalOperation.Update : WalOperation.Delete;
        var entityId = "e" + random.Next(Entities).ToString(CultureInfo.InvariantCulture);
        JsonElement? payload = operation == WalOperation.Delete
            ? null
            : JsonSerializer.SerializeToElement(new Dictionary<string, object>
            {
                ["writer"] = writer,
                ["seq"] = i,
                ["value"] = random.Next(),
                ["pad"] = pad,
            });
        return new WriteRequest
        {
            RequestId = string.Create(CultureInfo.InvariantCulture, $"{RunId}-{writer}-{i}"),
            Operation = operation,
            DtoType = DtoType,
            EntityId = entityId,
            Payload = payload,
            UserId = "load-" + writer.ToString(CultureInfo.InvariantCulture),
            Reason = "nv load",
        };
    }
}
