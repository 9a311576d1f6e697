using System.Diagnostics;

namespace Nv.Integration.Tests.Audit;

/// <summary>A quick throughput figure, run on demand: <c>NV_TEST_PERF=1 dotnet test tests/integration -c Release --filter SqliteAuditThroughputTests</c>.</summary>
public sealed class SqliteAuditThroughputTests : AuditStoreFixture
{
    [Fact]
    public async Task Append_100k_entries_in_batches_of_64()
    {
        if (Environment.GetEnvironmentVariable("NV_TEST_PERF") != "1")
        {
            Assert.Skip("Set NV_TEST_PERF=1 to measure audit append throughput.");
        }

        var ct = TestContext.Current.CancellationToken;
        const int total = 100_000;
        const int batch = 64;
        var entries = Enumerable.Range(0, total).Select(i => Entry(i % 4 == 0 ? "billing" : "orders", "o-" + i, requestId: "req-" + i)).ToList();
        var stopwatch = Stopwatch.StartNew();
        var inserted = 0;
        for (var i = 0; i < total; i += batch)
        {
            inserted += await Sink.AppendAsync(entries.GetRange(i, Math.Min(batch, total - i)), ct);
        }

        stopwatch.Stop();
        Assert.Equal(total, inserted);
        var rate = total / stopwatch.Elapsed.TotalSeconds;
        TestContext.Current.TestOutputHelper!.WriteLine($"audit append: {total} entries in batches of {batch}: {stopwatch.Elapsed.TotalSeconds:F2} s, {rate:F0} entries/s");

        stopwatch.Restart();
        var verification = await Sink.VerifyAsync(ct);
        TestContext.Current.TestOutputHelper!.WriteLine($"audit verify: {verification.EntriesChecked} entries in {stopwatch.Elapsed.TotalSeconds:F2} s");
        Assert.True(verification.IsValid, verification.Reason);
    }
}
