using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Nv.Benchmarks.Support;

namespace Nv.Benchmarks.Pipeline;

/// <summary>The baseline's SQLite work (before image, entity upsert, audit row) with naive group commit: one committer
/// takes up to <c>batch</c> waiting requests and runs them in one transaction (synchronous=FULL). No WAL, no separate
/// audit store, no hash chain: the ceiling the issue names for "batched 64 per transaction".</summary>
internal static class SqliteGroupCommitBaseline
{
    private sealed record Work(string Id, string RequestId, TaskCompletionSource Done);

    public static async Task<LatencyRecorder.Result> MeasureAsync(int callers, int seconds, JsonElement payload, int batch)
    {
        using var dir = new BenchDirectory("baseline-batched");
        using var connection = SqliteBaseline.Open(dir.Path);
        using var writer = new SqliteBaselineWriter(connection);
        var doc = payload.GetRawText();
        var queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
        var committer = Task.Run(async () =>
        {
            var taken = new List<Work>(batch);
            while (await queue.Reader.WaitToReadAsync())
            {
                taken.Clear();
                while (taken.Count < batch && queue.Reader.TryRead(out var work))
                {
                    taken.Add(work);
                }

                using (var tx = connection.BeginTransaction())
                {
                    foreach (var work in taken)
                    {
                        writer.Write(tx, work.Id, doc, work.RequestId);
                    }

                    tx.Commit();
                }

                taken.ForEach(static w => w.Done.SetResult());
            }
        });

        var recorder = new LatencyRecorder(callers);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                var work = new Work(
                    string.Create(CultureInfo.InvariantCulture, $"c{c}-{i / 2}"),
                    string.Create(CultureInfo.InvariantCulture, $"c{c}-{i}"),
                    new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                queue.Writer.TryWrite(work);
                await work.Done.Task;
                recorder.Record(c, start);
                i++;
            }
        })));
        var result = recorder.Summarize(clock.Elapsed);
        queue.Writer.Complete();
        await committer;
        SqliteConnection.ClearAllPools();
        return result;
    }
}
