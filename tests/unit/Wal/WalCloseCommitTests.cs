using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>A close whose final commit fails says so, and still persists the watermarks (they name records made durable
/// before it); it used to report the failed commit as "Persisting the WAL watermarks failed" and skip the watermarks.</summary>
public sealed class WalCloseCommitTests : WalTestBase
{
    [Fact]
    public async Task A_failed_closing_commit_is_reported_as_such_and_the_watermarks_are_still_persisted()
    {
        var logger = new FakeLogger();
        WriteGateDevice? device = null;
        var wal = new FasterWriteAheadLog(Options(segmentBits: 13), logger, path => device = new WriteGateDevice(path));
        await AppendFlushed(wal, 20);
        wal.AdvanceApplied(new Lsn(20));
        wal.AdvanceAudited(new Lsn(18));
        await wal.AppendAsync(Record(20), Ct); // never flushed: the close commits it
        device!.FailWrites = true;

        await wal.DisposeAsync();

        var records = logger.Collector.GetSnapshot();
        var failed = Assert.Single(records, r => r.Id.Name == "CloseCommitFailed");
        Assert.Equal(LogLevel.Error, failed.Level);
        Assert.Contains("after LSN 20", failed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(records, r => r.Id.Name == "WatermarkPersistFailed");

        await using var reopened = Open(segmentBits: 13);
        Assert.Equal(new Lsn(20), reopened.AppliedLsn);
        Assert.Equal(new Lsn(18), reopened.AuditedLsn);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), (await ReadAll(reopened)).Select(r => r.Lsn.Value));
    }
}
