using System.Diagnostics;

namespace Nv.Integration.Tests.Audit;

/// <summary>A quick throughput figure, run on demand: <c>NV_TEST_PERF=1 dotnet test tests/integration -c Release --filter SqliteAuditThroughputTests</c>
/// (batch size 64 unless <c>NV_TEST_PERF_BATCH</c> says otherwise).</summary>
public sealed class SqliteAuditThroughputTests : AuditStoreFixture
{
    [Fact]
    public async Task Append_100k_entries_in_batches()
    {
        if (Environment.GetEnvironmentVariable("NV_TEST_PERF") != "1")
        {
            Assert.Skip("Set NV_TEST_PERF=1 to measure audit append throughput.");
        }

        var ct = TestContext.Current.CancellationToken;
        const int total = 100_000;
        var batch = int.TryParse(Environment.GetEnvironmentVariable("NV_TEST_PERF_BATCH"), out var b) ? b : 64;
        var entries = Enumerable.Range(0, total).Select(i => Entry(i % 4 == 0 ? "billing" : "orders", "o-" + i, requestId: "req-" + i)).ToList();
        await using var sink = Nv.Audit.AuditSinks.OpenSqlite(new Nv.Audit.AuditOptions
        {
            DataDirectory = Directory, SqliteFileName = "perf.db", MaxBatchSize = Math.Max(batch, 1),
        });
        await sink.InitializeAsync(ct);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var inserted = 0;
        for (var i = 0; i < total; i += batch)
        {
            inserted += await sink.AppendAsync(entries.GetRange(i, Math.Min(batch, total - i)), ct);
        }

        stopwatch.Stop();
        // CPU per entry is the figure to compare on a shared, noisy machine; wall-clock rate includes fsync waits and other load.
        var cpuPerEntry = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / total;
        Assert.Equal(total, inserted);
        var rate = total / stopwatch.Elapsed.TotalSeconds;
        TestContext.Current.TestOutputHelper!.WriteLine(
            $"audit append: {total} entries in batches of {batch}: {stopwatch.Elapsed.TotalSeconds:F2} s, {rate:F0} entries/s, {cpuPerEntry:F1} µs CPU/entry");

        stopwatch.Restart();
        var verification = await sink.VerifyAsync(ct);
        TestContext.Current.TestOutputHelper!.WriteLine($"audit verify: {verification.EntriesChecked} entries in {stopwatch.Elapsed.TotalSeconds:F2} s");
        Assert.True(verification.IsValid, verification.Reason);
    }
}
