using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalWatermarkTests : WalTestBase
{
    private string CheckpointPath => Path.Combine(Directory, "watermarks.ckpt");

    [Fact]
    public async Task Watermarks_persist_across_reopen()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 20);
            wal.AdvanceApplied(new Lsn(15));
            wal.AdvanceAudited(new Lsn(12));
            await wal.PersistWatermarksAsync(Ct);
        }

        await using (var wal = Open())
        {
            Assert.Equal(new Lsn(15), wal.AppliedLsn);
            Assert.Equal(new Lsn(12), wal.AuditedLsn);
        }
    }

    [Fact]
    public async Task Watermarks_are_persisted_on_dispose()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 3);
            wal.AdvanceApplied(new Lsn(3));
        }

        await using var reopened = Open();
        Assert.Equal(new Lsn(3), reopened.AppliedLsn);
    }

    [Fact]
    public async Task Lower_values_are_ignored()
    {
        await using var wal = Open();
        wal.AdvanceApplied(new Lsn(10));
        wal.AdvanceApplied(new Lsn(4));
        wal.AdvanceAudited(new Lsn(7));
        wal.AdvanceAudited(Lsn.None);
        Assert.Equal(new Lsn(10), wal.AppliedLsn);
        Assert.Equal(new Lsn(7), wal.AuditedLsn);
    }

    /// <summary>Boot lowers the watermarks to what the stores hold (a store restored behind the checkpoint): only lower,
    /// persisted, and a truncation then keeps every record above the lowered audited watermark.</summary>
    [Fact]
    public async Task Watermarks_lowered_to_the_stores_are_persisted_and_bound_truncation()
    {
        await using (var wal = Open(segmentBits: 13))
        {
            await AppendFlushed(wal, 400);
            wal.AdvanceApplied(new Lsn(390));
            wal.AdvanceAudited(new Lsn(380));
            await wal.PersistWatermarksAsync(Ct);
        }

        await using (var wal = Open(segmentBits: 13))
        {
            wal.LowerWatermarks(new Lsn(395), new Lsn(150)); // applied: higher than the watermark, changes nothing
            Assert.Equal((new Lsn(390), new Lsn(150)), (wal.AppliedLsn, wal.AuditedLsn));
            wal.AdvanceAudited(new Lsn(120)); // still monotonic upwards from the lowered value
            Assert.Equal(new Lsn(150), wal.AuditedLsn);

            var first = await wal.TruncateAsync(Ct);
            Assert.True(first.Value is > 1 and <= 151, $"the WAL keeps LSN 151 and may drop what is below; it starts at {first}");
        }

        await using var reopened = Open(segmentBits: 13);
        Assert.Equal((new Lsn(390), new Lsn(150)), (reopened.AppliedLsn, reopened.AuditedLsn));
    }

    [Fact]
    public async Task Corrupt_checkpoint_is_detected_and_never_read_as_higher()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 20);
            wal.AdvanceApplied(new Lsn(15));
            wal.AdvanceAudited(new Lsn(15));
            await wal.PersistWatermarksAsync(Ct);
        }

        var original = File.ReadAllBytes(CheckpointPath);
        for (var bit = 0; bit < original.Length * 8; bit++)
        {
            var bytes = (byte[])original.Clone();
            bytes[bit / 8] ^= (byte)(1 << (bit % 8));
            File.WriteAllBytes(CheckpointPath, bytes);
            await using var wal = Open();
            Assert.True(wal.AppliedLsn <= new Lsn(15) && wal.AuditedLsn <= new Lsn(15), $"bit {bit}");
            if (bit < 256)
            {
                Assert.Equal(Lsn.None, wal.AppliedLsn);
                Assert.Contains("watermark checkpoint ignored", wal.Recovery.Detail);
            }
        }
    }

    [Fact]
    public async Task Background_timer_persists_changed_watermarks()
    {
        var options = Options();
        options.WatermarkPersistInterval = TimeSpan.FromMilliseconds(50);
        await using var wal = WriteAheadLog.Open(options);
        await AppendFlushed(wal, 2);
        wal.AdvanceApplied(new Lsn(2));
        for (var i = 0; i < 100 && !File.Exists(CheckpointPath); i++)
        {
            await Task.Delay(20, Ct);
        }

        Assert.True(File.Exists(CheckpointPath));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public async Task A_lost_checkpoint_after_truncation_still_opens_with_a_warning_and_reads_below_the_first_lsn_throw_typed(string damage)
    {
        await using (var wal = Open(segmentBits: 13))
        {
            await AppendFlushed(wal, 300);
            wal.AdvanceApplied(new Lsn(250));
            wal.AdvanceAudited(new Lsn(250));
            Assert.Equal(new Lsn(251), await wal.TruncateAsync(Ct));
        }

        switch (damage)
        {
            case "missing":
                File.Delete(CheckpointPath);
                break;
            case "garbage":
                File.WriteAllBytes(CheckpointPath, [.. Enumerable.Range(0, 40).Select(i => (byte)(i * 7))]);
                break;
            default:
                File.WriteAllBytes(CheckpointPath, []);
                break;
        }

        var logger = new FakeLogger();
        await using var reopened = new FasterWriteAheadLog(Options(segmentBits: 13), logger);
        Assert.Equal(Lsn.None, reopened.AppliedLsn);
        Assert.Equal(Lsn.None, reopened.AuditedLsn);
        Assert.Equal(new Lsn(300), reopened.LastLsn);
        var warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("watermark", StringComparison.Ordinal));
        Assert.Contains(CheckpointPath, warning.Message, StringComparison.Ordinal);

        // What boot replay does with watermarks at 0: read from LSN 1, which the log no longer holds.
        var ex = await Assert.ThrowsAsync<WalTruncatedException>(async () => await ReadAll(reopened, reopened.AppliedLsn.Next));
        Assert.Equal(new Lsn(1), ex.RequestedLsn);
        Assert.Equal(new Lsn(251), ex.FirstLsn);
        Assert.Equal(Enumerable.Range(251, 50).Select(i => (long)i), (await ReadAll(reopened, ex.FirstLsn)).Select(r => r.Lsn.Value));
    }

    [Fact]
    public async Task A_new_log_has_no_checkpoint_and_opens_without_a_warning()
    {
        var logger = new FakeLogger();
        await using var wal = new FasterWriteAheadLog(Options(), logger);
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Level >= LogLevel.Warning);
    }
}
