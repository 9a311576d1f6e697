using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>FasterLog copies an entry's payload into its page before the entry's header, and flushes the page it is still
/// appending to: a write of that page can carry an entry's payload without its header, and a commit record enqueued after
/// the entry, whole. A flush that completes a commit covering the entry writes it whole, so an entry on disk without its
/// header was never acknowledged, whatever follows it.</summary>
public sealed class WalHeaderlessEntryTests : WalTestBase
{
    // Found by the power-loss harness once its images held the bytes FasterLog was copying while strace traced zeros: the
    // headerless entry followed by a commit record with no zero sector between was taken for damage to acknowledged
    // records, and recovery refused to open a log that had lost nothing.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task An_entry_whose_header_never_landed_before_a_commit_record_is_an_unfinished_tail_not_acknowledged_damage(int headerless)
    {
        var capture = await CaptureFlushAsync(3, [Record(100), Record(101) with { Reason = new string('r', 200) }]);
        var image = Path.Combine(Directory, "image");
        ComposeImage(capture, image, capture.ChangedSectors);
        var segment = Path.Combine(image, "log", "nv.log.0");
        var bytes = File.ReadAllBytes(segment);
        var (start, _) = LocateFrames(segment, 5)[3 + headerless]; // LSN 4 or 5: the first or second entry of the flush
        Array.Clear(bytes, (int)start, 12);
        File.WriteAllBytes(segment, bytes);

        var options = Options();
        options.Directory = image;
        await using var wal = WriteAheadLog.Open(options);
        var read = await ReadAll(wal);

        Assert.Equal(Enumerable.Range(1, 3 + headerless).Select(i => (long)i), read.Select(r => r.Lsn.Value));
        Assert.Equal(capture.Acknowledged.Concat(capture.Flushed).Take(3 + headerless).Select(r => r.RequestId), read.Select(r => r.RequestId));
        Assert.NotNull(wal.Recovery.BrokenTailPath); // the headerless entry and what follows it are saved aside
    }
}
