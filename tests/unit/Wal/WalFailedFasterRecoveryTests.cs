using FASTER.core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>When FasterLog's own recovery fails, Nv rebuilds the log from the segment files; the commit metadata still
/// names an acknowledged address, and files that end below it are damage, as they are when FasterLog recovers.</summary>
public sealed class WalFailedFasterRecoveryTests : WalTestBase
{
    private const int MinRecords = 120;

    [Fact]
    public async Task Intact_files_open_with_every_record_when_FasterLogs_recovery_fails()
    {
        var records = await WriteCleanLog();
        var logger = new FakeLogger();
        ReadFaultDevice? first = null;
        await using var wal = new FasterWriteAheadLog(Options(segmentBits: 13), logger, FirstDeviceFailsReads(d => first ??= d));

        Assert.True(first!.FailedReads > 0, "FasterLog's recovery never read through the device");
        Assert.Equal(Enumerable.Range(1, records).Select(i => (long)i), (await ReadAll(wal)).Select(r => r.Lsn.Value));
        Assert.Contains("FasterLog recovered an empty log", wal.Recovery.Detail, StringComparison.Ordinal);
        Assert.Null(wal.Recovery.BrokenTailPath);
    }

    // Without the check, both cuts opened with a WARN ("rebuilt from the segment files") and the acknowledged records past
    // the cut were gone.
    [Theory]
    [InlineData("last segment deleted")]
    [InlineData("last segment cut at a page boundary")]
    public async Task Files_cut_below_the_commit_metadatas_address_are_refused_when_FasterLogs_recovery_fails(string cut)
    {
        var records = await WriteCleanLog();
        // The newest segment that holds records past its first page, and any segment after it (a clean close may start
        // one with just its commit record) are cut.
        var segments = System.IO.Directory.GetFiles(LogDirectory, "nv.log.*").OrderBy(f => int.Parse(f[(f.LastIndexOf('.') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var target = segments.FindLastIndex(f => new FileInfo(f).Length > 4096 + 512);
        Assert.True(target >= 2, $"the log fills only {segments.Count} segments");
        segments.Skip(target + 1).ToList().ForEach(File.Delete);
        if (cut == "last segment deleted")
        {
            File.Delete(segments[target]);
        }
        else
        {
            // Entries never cross a page, so the cut leaves whole entries: the files end cleanly, only too early.
            using var stream = new FileStream(segments[target], FileMode.Open);
            stream.SetLength(4096);
        }

        var refused = Assert.Throws<WalCorruptionException>(() => new FasterWriteAheadLog(Options(segmentBits: 13), new FakeLogger(), FirstDeviceFailsReads()));
        Assert.Contains("ends before the committed address", refused.Message, StringComparison.Ordinal);
        Assert.Contains("below the durable point", refused.Message, StringComparison.Ordinal);

        // An operator's choice to cut anyway: every record before the damage is kept, and the cut is reported as acknowledged.
        var logger = new FakeLogger();
        await using var wal = new FasterWriteAheadLog(Options(WalRecoveryMode.PointInTime, segmentBits: 13), logger, FirstDeviceFailsReads());
        var read = await ReadAll(wal);
        Assert.InRange(read.Count, 1, records - 1);
        Assert.Equal(Enumerable.Range(1, read.Count).Select(i => (long)i), read.Select(r => r.Lsn.Value));
        Assert.Contains("cut acknowledged records", wal.Recovery.Detail, StringComparison.Ordinal);
        Assert.Contains(logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Critical);
    }

    // At least three segments, the newest reaching well into its second page (so a cut at its first page loses records).
    private async Task<int> WriteCleanLog()
    {
        await using var wal = WriteAheadLog.Open(Options(segmentBits: 13));
        var count = 0;
        while (count < MinRecords || new FileInfo(SegmentPath(System.IO.Directory.GetFiles(LogDirectory, "nv.log.*").Length - 1)).Length <= 4096 + 1024)
        {
            await wal.AppendAsync(Record(count++), Ct);
            await wal.FlushAsync(wal.LastLsn, Ct);
        }

        return count;
    }

    // Only the log's first device fails: a rebuild reopens the log through the factory, and must read it back.
    private static Func<string, IDevice> FirstDeviceFailsReads(Action<ReadFaultDevice>? created = null)
    {
        var count = 0;
        return path =>
        {
            var device = new ReadFaultDevice(path) { FailReads = ++count == 1 };
            created?.Invoke(device);
            return device;
        };
    }
}
