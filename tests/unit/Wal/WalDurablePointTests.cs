using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>Recovery never cuts bytes a completed commit made durable: damage below the durable point refuses to open in
/// the default mode; only a torn or unfinished write past it is cut (saved aside).</summary>
public sealed class WalDurablePointTests : WalTestBase
{
    /// <summary>Five records, one flush each, and a copy of the directory taken while the log is open (a crash image: no
    /// clean close, so FasterLog's lazily written commit metadata may lag the last commits).</summary>
    private async Task<(string Image, List<(long Start, long End)> Ranges)> CrashImage(int count)
    {
        var image = Path.Combine(Directory, "image");
        await using (var wal = Open())
        {
            for (var i = 0; i < count; i++)
            {
                var r = await wal.AppendAsync(Record(i), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
            }

            CopyDirectory(Directory, image);
        }

        return (image, LocateFrames(Path.Combine(image, "log", "nv.log.0"), count));
    }

    private IWriteAheadLog OpenImage(string image, WalRecoveryMode mode = WalRecoveryMode.TolerateCorruptedTail)
    {
        var options = Options(mode);
        options.Directory = image;
        return WriteAheadLog.Open(options);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_corrupt_last_acknowledged_record_in_a_crash_image_refuses_to_open(bool withoutCommitMetadata)
    {
        var (image, ranges) = await CrashImage(5);
        var segment = Path.Combine(image, "log", "nv.log.0");
        var bytes = File.ReadAllBytes(segment);
        bytes[ranges[^1].Start + 40] ^= 0x08;
        File.WriteAllBytes(segment, bytes);
        if (withoutCommitMetadata)
        {
            // Only the commit record the flush wrote after the record proves it was acknowledged.
            System.IO.Directory.Delete(Path.Combine(image, "log", "commits"), recursive: true);
        }

        var ex = Assert.Throws<WalCorruptionException>(() => OpenImage(image));
        Assert.Equal(new Lsn(4), ex.LastGoodLsn);
        Assert.Equal(ranges[^1].Start, ex.FileOffset);
        Assert.Equal(segment, ex.Path);
        Assert.Contains("acknowledged", ex.Message, StringComparison.Ordinal);
        Assert.Contains("nv wal verify", ex.Message, StringComparison.Ordinal);
        Assert.Empty(System.IO.Directory.GetFiles(image, "*.broken"));
        Assert.Equal(bytes, File.ReadAllBytes(segment));

        await using var wal = OpenImage(image, WalRecoveryMode.PointInTime);
        Assert.Equal(new Lsn(4), wal.LastLsn);
        Assert.NotNull(wal.Recovery.BrokenTailPath);
    }

    [Fact]
    public async Task A_torn_write_past_the_last_commit_is_still_cut_by_default()
    {
        // Five acknowledged records; then a sixth whose flush a power cut interrupted: only the first sector it wrote (the
        // rewritten partial sector holding the end of the acknowledged bytes and the start of record six) landed.
        var capture = await CaptureFlushAsync(5, [Record(6) with { Reason = new string('x', 1500) }]);
        Assert.True(capture.ChangedSectors.Count >= 3, $"sectors written: {string.Join(",", capture.ChangedSectors)}");
        var image = Path.Combine(Directory, "torn");
        ComposeImage(capture, image, capture.ChangedSectors.Take(1));

        await using var wal = OpenImage(image);
        Assert.Equal(new Lsn(5), wal.LastLsn);
        Assert.Equal(capture.Acknowledged.Select(r => r.RequestId), (await ReadAll(wal)).Select(r => r.RequestId));
        Assert.NotNull(wal.Recovery.BrokenTailPath);
        var next = await wal.AppendAsync(Record(7), Ct);
        Assert.Equal(new Lsn(6), next.Lsn);
    }
}
