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
}
