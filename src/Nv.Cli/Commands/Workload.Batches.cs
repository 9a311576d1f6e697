using System.Globalization;
using System.Text.Json;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Cli.Commands;

/// <remarks>
/// Batch mode (<c>nv load --batch-size N</c>): each writer owns its own entities (<c>w{writer}-e{k}</c>, alternately of
/// <c>DtoType</c> and <c>DtoType</c> + "B", so a batch spans two tables) and knows their state from its own answers, so
/// its batches are valid: a create for an absent entity, an update or a delete for a present one. One batch in five
/// carries one deliberately wrong item (a create of a present entity or an update of an absent one), which must reject
/// the whole batch. The crash tests SIGKILL this at every crash point and check no half batch is ever visible.
/// </remarks>
internal sealed partial record Workload
{
    private async Task<LoadTally> RunBatchesAsync(IWritePipeline pipeline, TextWriter? acks, CancellationToken cancellationToken)
    {
        var tally = new LoadTally();
        var next = -1;
        var pad = new string('x', PayloadBytes);
        var perWriter = Math.Max(2 * BatchSize, Entities / Writers);
        var tasks = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var random = new Random(HashCode.Combine(Seed, w, BatchSize));
            var present = new bool[perWriter];
            int i;
            while ((i = Interlocked.Increment(ref next)) < Count)
            {
                var (request, after) = NextBatch(random, w, i, pad, present);
                try
                {
                    var outcome = await pipeline.WriteBatchAsync(request, cancellationToken);
                    tally.Count(outcome.Status);
                    if (outcome.Status == WriteStatus.Applied)
                    {
                        after.CopyTo(present, 0);
                    }

                    if (acks is not null)
                    {
                        var line = string.Create(CultureInfo.InvariantCulture,
                            $"ACK {outcome.RequestId} {outcome.Status} {outcome.Lsn} batch {DtoType} {request.Items.Count}");
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

    private (BatchRequest Request, bool[] After) NextBatch(Random random, int writer, int i, string pad, bool[] present)
    {
        var after = (bool[])present.Clone();
        var chosen = new HashSet<int>();
        while (chosen.Count < BatchSize)
        {
            chosen.Add(random.Next(present.Length));
        }

        var wrong = random.Next(5) == 0 ? random.Next(BatchSize) : -1;
        var items = new List<BatchItem>(BatchSize);
        var n = 0;
        foreach (var k in chosen)
        {
            var exists = present[k];
            BatchOperation operation;
            if (n == wrong)
            {
                operation = exists ? BatchOperation.Create : BatchOperation.Update; // refused by the rules: rejects the batch
            }
            else if (!exists)
            {
                operation = BatchOperation.Create;
                after[k] = true;
            }
            else
            {
                operation = random.Next(3) == 0 ? BatchOperation.Delete : BatchOperation.Update;
                after[k] = operation != BatchOperation.Delete;
            }

            items.Add(new BatchItem
            {
                Operation = operation,
                DtoType = k % 2 == 0 ? DtoType : DtoType + "B",
                EntityId = string.Create(CultureInfo.InvariantCulture, $"w{writer}-e{k}"),
                Payload = operation == BatchOperation.Delete
                    ? null
                    : JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["writer"] = writer, ["seq"] = i, ["value"] = random.Next(), ["pad"] = pad }),
            });
            n++;
        }

        var request = new BatchRequest
        {
            RequestId = string.Create(CultureInfo.InvariantCulture, $"{RunId}-{writer}-{i}"),
            Items = items,
            UserId = "load-" + writer.ToString(CultureInfo.InvariantCulture),
            Reason = "nv load --batch-size",
        };
        return (request, after);
    }
}
