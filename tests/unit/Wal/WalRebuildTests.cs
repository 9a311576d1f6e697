using System.Buffers.Binary;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>A rebuild (here: skipping a damaged record) keeps the evidence: the skipped bytes are saved aside, the original
/// log survives until its copy verified, and a crash at any step converges on the next open.</summary>
public sealed class WalRebuildTests : WalTestBase
{
    private static readonly long[] Kept = [1, 2, 3, 5, 6, 7, 8];

    private string RebuildDirectory => Path.Combine(Directory, "log.rebuild");

    private string OldDirectory => Path.Combine(Directory, "log.old");

    /// <summary>Eight records, one flush each, then a byte of record 4 flipped: mid-log damage that skip mode rebuilds away.</summary>
    private async Task<(List<(long Start, long End)> Ranges, byte[] Damaged)> DamagedLog()
    {
        await using (var wal = Open())
        {
            for (var i = 0; i < 8; i++)
            {
                var r = await wal.AppendAsync(Record(i), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
            }
        }

        var ranges = LocateFrames(SegmentPath(), 8);
        var bytes = File.ReadAllBytes(SegmentPath());
        bytes[ranges[3].Start + 50] ^= 0x40;
        File.WriteAllBytes(SegmentPath(), bytes);
        return (ranges, bytes);
    }

    private FasterWriteAheadLog OpenWithHook(Action<string> hook) => new(Options(WalRecoveryMode.SkipAnyCorruptedRecord), null, null, hook);

    [Fact]
    public async Task Skip_mode_saves_every_skipped_region_aside_as_broken()
    {
        var (ranges, damaged) = await DamagedLog();
        await using var wal = Open(WalRecoveryMode.SkipAnyCorruptedRecord);
        Assert.Equal(Kept, (await ReadAll(wal)).Select(r => r.Lsn.Value));

        // The damaged record and FasterLog's commit record after it: everything up to the next valid record.
        var saved = Assert.Single(System.IO.Directory.GetFiles(Directory, "*.broken"));
        Assert.Equal(saved, Assert.Single(wal.Recovery.BrokenPaths));
        Assert.Equal(damaged.AsSpan((int)ranges[3].Start, (int)(ranges[4].Start - ranges[3].Start)).ToArray(), File.ReadAllBytes(saved));
        Assert.Contains(saved, wal.Recovery.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_copy_that_does_not_verify_is_discarded_and_the_original_log_stays_untouched()
    {
        var (_, damaged) = await DamagedLog();
        var commitFiles = System.IO.Directory.GetFiles(LogDirectory, "*", SearchOption.AllDirectories).Order().ToList();

        // The copy is damaged after it was written (a bad disk, a bug in the copy): its verification must catch it before
        // the original is replaced, let alone deleted.
        var ex = Assert.ThrowsAny<Exception>(() => OpenWithHook(step =>
        {
            if (step == "rebuild-written")
            {
                var copy = Path.Combine(RebuildDirectory, "nv.log.0");
                var bytes = File.ReadAllBytes(copy);
                bytes[FrameOffset(bytes, 6) + 40] ^= 0x01;
                File.WriteAllBytes(copy, bytes);
            }
        }));
        Assert.Contains("does not verify", ex.Message, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(SegmentPath()));
        Assert.Equal(commitFiles, System.IO.Directory.GetFiles(LogDirectory, "*", SearchOption.AllDirectories).Order());
        Assert.False(System.IO.Directory.Exists(RebuildDirectory));
        Assert.False(System.IO.Directory.Exists(OldDirectory));

        await using var wal = Open(WalRecoveryMode.SkipAnyCorruptedRecord);
        Assert.Equal(Kept, (await ReadAll(wal)).Select(r => r.Lsn.Value));
    }

    [Theory]
    [InlineData("rebuild-written")]
    [InlineData("rebuild-verified")]
    [InlineData("original-moved")]
    [InlineData("copy-moved")]
    [InlineData("original-deleting")]
    public async Task A_crash_at_any_step_of_a_rebuild_converges_on_the_next_open(string step)
    {
        var (_, damaged) = await DamagedLog();
        Assert.Throws<SimulatedCrashException>(() => OpenWithHook(s =>
        {
            if (s == step)
            {
                throw new SimulatedCrashException(step);
            }
        }));

        // Whatever the crash left, the original is still there (as log, or as log.old once a verified copy replaced it).
        var original = File.Exists(Path.Combine(OldDirectory, "nv.log.0")) ? Path.Combine(OldDirectory, "nv.log.0") : SegmentPath();
        Assert.Equal(damaged, File.ReadAllBytes(original));

        await using (var wal = Open(WalRecoveryMode.SkipAnyCorruptedRecord))
        {
            Assert.Equal(Kept, (await ReadAll(wal)).Select(r => r.Lsn.Value));
            Assert.False(System.IO.Directory.Exists(RebuildDirectory));
            Assert.False(System.IO.Directory.Exists(OldDirectory));
            var next = await wal.AppendAsync(Record(9), Ct);
            await wal.FlushAsync(next.Lsn, Ct);
            Assert.Equal(new Lsn(9), next.Lsn);
        }

        Assert.NotEmpty(System.IO.Directory.GetFiles(Directory, "*.broken"));
        await using var reopened = Open();
        Assert.Equal([.. Kept, 9], (await ReadAll(reopened)).Select(r => r.Lsn.Value));
    }

    /// <summary>Where the frame of <paramref name="lsn"/> starts in a segment (its FasterLog entry header).</summary>
    private static int FrameOffset(byte[] segment, long lsn)
    {
        for (var p = 64; p + 32 <= segment.Length; p += 4)
        {
            if (segment[p + 12] == 0x4E && segment[p + 13] == 0x56 && BinaryPrimitives.ReadInt64LittleEndian(segment.AsSpan(p + 20)) == lsn)
            {
                return p;
            }
        }

        throw new InvalidOperationException($"LSN {lsn} not found");
    }

    private sealed class SimulatedCrashException(string step) : Exception($"simulated crash after {step}");
}
