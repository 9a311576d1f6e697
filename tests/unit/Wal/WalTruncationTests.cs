using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalTruncationTests : WalTestBase
{
    [Fact]
    public async Task Truncation_removes_segments_below_both_watermarks()
    {
        await using (var wal = Open(segmentBits: 13))
        {
            await AppendFlushed(wal, 400);
            var before = wal.GetStatistics();
            Assert.True(before.SegmentCount > 4, $"only {before.SegmentCount} segments");

            wal.AdvanceApplied(new Lsn(300));
            wal.AdvanceAudited(new Lsn(250));
            var first = await wal.TruncateAsync(Ct);
            Assert.Equal(new Lsn(251), first);

            for (var i = 0; i < 50 && wal.GetStatistics().SegmentCount >= before.SegmentCount; i++)
            {
                await Task.Delay(20, Ct);
            }

            var after = wal.GetStatistics();
            Assert.True(after.SegmentCount < before.SegmentCount, $"{after.SegmentCount} segments remain of {before.SegmentCount}");
            Assert.Equal(new Lsn(251), after.FirstLsn);

            var read = await ReadAll(wal, new Lsn(251));
            Assert.Equal(Enumerable.Range(251, 150).Select(i => (long)i), read.Select(r => r.Lsn.Value));
            Assert.Equal(251, (await ReadAll(wal)).First().Lsn.Value);
            var truncated = await Assert.ThrowsAsync<WalTruncatedException>(async () => await ReadAll(wal, new Lsn(10)));
            Assert.Equal(new Lsn(10), truncated.RequestedLsn);
            Assert.Equal(new Lsn(251), truncated.FirstLsn);
            Assert.Contains("LSN 10", truncated.Message, StringComparison.Ordinal);
            Assert.Contains("LSN 251", truncated.Message, StringComparison.Ordinal);
            await AppendFlushed(wal, 5, 1000);
        }

        await using (var wal = Open(segmentBits: 13))
        {
            Assert.Equal(new Lsn(251), wal.Recovery.FirstLsn);
            Assert.Equal(new Lsn(405), wal.LastLsn);
            var read = await ReadAll(wal, new Lsn(300));
            Assert.Equal(Enumerable.Range(300, 106).Select(i => (long)i), read.Select(r => r.Lsn.Value));
        }
    }

    [Fact]
    public async Task A_truncation_that_finishes_while_another_looks_up_its_cut_does_not_fault_the_other()
    {
        // Seen in the WAL truncation crash test (every writer truncates): truncation A chose its cut (LSN 31), truncation B
        // then cut further (LSN 81) and dropped the index entries and segments below; A's lookup of LSN 31 started past
        // its own durable end and threw WalCorruptionException. Truncations now run one at a time.
        await using var wal = Open(segmentBits: 13);
        var faster = Assert.IsType<FasterWriteAheadLog>(wal);
        await AppendFlushed(wal, 60);
        wal.AdvanceApplied(new Lsn(30));
        wal.AdvanceAudited(new Lsn(30));
        Task<Lsn>? other = null;
        faster.BeforeCutLookup = async () =>
        {
            faster.BeforeCutLookup = null; // once, in truncation A
            await AppendFlushed(wal, 40, 100);
            wal.AdvanceApplied(new Lsn(80));
            wal.AdvanceAudited(new Lsn(80));
            other = wal.TruncateAsync(Ct).AsTask();
            await Task.WhenAny(other, Task.Delay(TimeSpan.FromSeconds(2), Ct)); // B finishes first, unless it must wait for A
        };

        var first = await wal.TruncateAsync(Ct);
        Assert.NotNull(other);
        var second = await other;
        Assert.Equal(new Lsn(31), first);
        Assert.Equal(new Lsn(81), second);
        Assert.Equal(Enumerable.Range(81, 20).Select(i => (long)i), (await ReadAll(wal)).Select(r => r.Lsn.Value));
    }

    [Fact]
    public async Task Truncation_keeps_the_last_record()
    {
        await using var wal = Open(segmentBits: 13);
        await AppendFlushed(wal, 50);
        wal.AdvanceApplied(new Lsn(50));
        wal.AdvanceAudited(new Lsn(50));
        Assert.Equal(new Lsn(50), await wal.TruncateAsync(Ct));
        Assert.Single(await ReadAll(wal));
    }

    [Fact]
    public async Task Retention_keeps_recent_segments()
    {
        var options = Options(segmentBits: 13);
        options.Retention = TimeSpan.FromHours(1);
        await using var wal = WriteAheadLog.Open(options);
        await AppendFlushed(wal, 200);
        wal.AdvanceApplied(new Lsn(200));
        wal.AdvanceAudited(new Lsn(200));
        Assert.Equal(new Lsn(1), await wal.TruncateAsync(Ct));
    }
}
