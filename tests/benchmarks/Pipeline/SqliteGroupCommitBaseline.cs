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

    /// <summary>The same work with no callers at all: one thread running <paramref name="batch"/>-request transactions
    /// back to back, the way a stage ceiling is measured. Latencies are per transaction.</summary>
    public static Task<LatencyRecorder.Result> MeasureBackToBackAsync(int seconds, JsonElement payload, int batch)
    {
        using var dir = new BenchDirectory("baseline-loop");
        using var connection = SqliteBaseline.Open(dir.Path);
        using var writer = new SqliteBaselineWriter(connection);
        var doc = payload.GetRawText();
        var recorder = new LatencyRecorder(1);
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var start = Stopwatch.GetTimestamp();
            using (var tx = connection.BeginTransaction())
            {
                for (var i = 0; i < batch; i++, n++)
                {
                    writer.Write(tx, "e" + (n / 2).ToString(CultureInfo.InvariantCulture), doc, "r" + n.ToString(CultureInfo.InvariantCulture));
                }

                tx.Commit();
            }

            recorder.Record(0, start);
        }

        var perBatch = recorder.Summarize(clock.Elapsed);
        SqliteConnection.ClearAllPools();
        return Task.FromResult(perBatch with { Operations = n, PerSecond = n / clock.Elapsed.TotalSeconds });
    }

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

        var result = await ClosedLoop.RunAsync(callers, seconds, (c, i) =>
        {
            var work = new Work(
                string.Create(CultureInfo.InvariantCulture, $"c{c}-{i / 2}"),
                string.Create(CultureInfo.InvariantCulture, $"c{c}-{i}"),
                new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            queue.Writer.TryWrite(work);
            return work.Done.Task;
        });
        queue.Writer.Complete();
        await committer;
        SqliteConnection.ClearAllPools();
        return result;
    }
}
