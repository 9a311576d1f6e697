using System.Diagnostics;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>Manual throughput probe: <c>NV_WAL_PERF=1 tests/unit/bin/Release/net10.0/Nv.Unit.Tests -method "*Append_and_flush_throughput" -showLiveOutput</c>.</summary>
public sealed class WalThroughputProbeTests : WalTestBase
{
    [Fact]
    public async Task Append_and_flush_throughput()
    {
        if (Environment.GetEnvironmentVariable("NV_WAL_PERF") != "1")
        {
            Assert.Skip("Set NV_WAL_PERF=1 to measure.");
        }

        const int writers = 64;
        var options = Options();
        options.PageSizeBits = 20;
        options.MemorySizeBits = 24;
        options.SegmentSizeBits = 28;
        options.MaxRecordBytes = 1 << 16;
        await using var wal = WriteAheadLog.Open(options);
        var stop = Stopwatch.StartNew();
        var count = 0L;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var i = 0;
            while (stop.Elapsed < TimeSpan.FromSeconds(5))
            {
                var r = await wal.AppendAsync(Record((w * 1_000_000) + i++), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
                Interlocked.Increment(ref count);
            }
        })));
        var rate = count / stop.Elapsed.TotalSeconds;
        TestContext.Current.TestOutputHelper?.WriteLine($"{writers} writers: {count} durable appends in {stop.Elapsed.TotalSeconds:F1} s = {rate:F0}/s");
    }
}
