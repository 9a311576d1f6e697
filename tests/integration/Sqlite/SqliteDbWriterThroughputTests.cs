using System.Diagnostics;
using Nv.DbWriter;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Sqlite;

/// <summary>A throughput measurement, run on demand: <c>NV_TEST_PERF=1 dotnet test tests/integration -c Release
/// --filter "FullyQualifiedName~Throughput"</c>. Skipped otherwise, to keep the suite fast on shared machines.</summary>
public sealed class SqliteDbWriterThroughputTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Apply_100k_records_in_batches_of_64()
    {
        if (Environment.GetEnvironmentVariable("NV_TEST_PERF") != "1")
        {
            Assert.Skip("Set NV_TEST_PERF=1 to measure throughput.");
        }

        const int total = 100_000;
        const int batchSize = 64;
        var ct = TestContext.Current.CancellationToken;
        var payload = """{"customer":"c-000123","total":1234.5,"currency":"EUR","lines":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"note":"integration throughput"}""";
        var records = new WalRecord[total];
        for (var i = 0; i < total; i++)
        {
            var lsn = i + 1;
            // Two thirds creates, one third updates of a recent entity: a realistic upsert mix.
            records[i] = i % 3 == 2 ? Update(lsn, "o" + (i - 1), payload) : Create(lsn, "o" + i, payload);
        }

        await using var writer = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path });
        var stopwatch = Stopwatch.StartNew();
        for (var offset = 0; offset < total; offset += batchSize)
        {
            var batch = new ArraySegment<WalRecord>(records, offset, Math.Min(batchSize, total - offset));
            var results = await writer.ApplyAsync(batch, ct);
            Assert.Equal(ApplyStatus.Applied, results[^1].Status);
        }

        stopwatch.Stop();
        var perSecond = total / stopwatch.Elapsed.TotalSeconds;
        output.WriteLine($"{total} records in batches of {batchSize}: {stopwatch.Elapsed.TotalSeconds:F2} s, {perSecond:F0} records/s");
        Assert.Equal(new Lsn(total), await writer.GetResolvedThroughAsync(ct));

        stopwatch.Restart();
        for (var offset = 0; offset < total; offset += batchSize)
        {
            await writer.ApplyAsync(new ArraySegment<WalRecord>(records, offset, Math.Min(batchSize, total - offset)), ct);
        }

        output.WriteLine($"replay of the same {total} records (all AlreadyApplied): {total / stopwatch.Elapsed.TotalSeconds:F0} records/s");
    }
}
