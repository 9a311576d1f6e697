using Nv.Wal;
using Nv.Wal.IO;
using Nv.Wal.Recovery;

namespace Nv.Unit.Tests.Wal;

/// <summary>FasterLog writes whole 512-byte sectors, so a segment file ends at a sector boundary, zero-filled after its last
/// entry. When that entry ends 4 or 8 bytes before the boundary, what is left cannot hold an entry header (12 bytes).</summary>
public sealed class WalTailPaddingTests : WalTestBase
{
    // Seen in a fresh-clone .ci/run: `nv wal verify` after `nv load` exited 5 with "segment file ... ends inside an entry
    // header" at the end of a clean log, 4 bytes before a sector boundary; recovery in AbsoluteConsistency mode refused to
    // open it (the default mode cut the zeros as a damaged tail). Record sizes are swept until both short tails occur.
    [Fact]
    public async Task A_clean_log_whose_last_entry_ends_less_than_a_header_before_a_sector_boundary_opens_with_every_record()
    {
        var tails = new HashSet<long>();
        for (var pad = 0; pad < 400 && !(tails.Contains(4) && tails.Contains(8)); pad++)
        {
            var options = Options(WalRecoveryMode.AbsoluteConsistency);
            options.Directory = Path.Combine(Directory, "pad-" + pad.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await using (var wal = WriteAheadLog.Open(options))
            {
                for (var i = 1; i <= 3; i++)
                {
                    await wal.AppendAsync(Record(i), Ct);
                }

                var last = await wal.AppendAsync(Record(4) with { Reason = new string('r', pad) }, Ct);
                await wal.FlushAsync(last.Lsn, Ct);
            }

            var tail = TailAfterLastEntry(options);
            if (tail is not (4 or 8))
            {
                continue;
            }

            tails.Add(tail);
            await NonZeroShortTailIsStillDamage(options, tail);
            await using var reopened = WriteAheadLog.Open(options); // AbsoluteConsistency: any damage throws
            var read = await ReadAll(reopened);
            Assert.Equal([1L, 2, 3, 4], read.Select(r => r.Lsn.Value));
            Assert.Empty(System.IO.Directory.GetFiles(options.Directory, "*.broken", SearchOption.AllDirectories));
        }

        Assert.True(tails.Contains(4) && tails.Contains(8), $"the sweep never ended a log 4 and 8 bytes before a sector boundary (saw {string.Join(',', tails)})");
    }

    // The same log with the short tail's bytes non-zero (a torn write of a next entry's header): damage, refused in
    // AbsoluteConsistency mode; past the durable point, so the default mode cuts it aside and keeps every record.
    private async Task NonZeroShortTailIsStillDamage(WalOptions clean, long tail)
    {
        var options = Options(WalRecoveryMode.AbsoluteConsistency);
        options.Directory = clean.Directory + "-torn";
        CopyDirectory(clean.Directory, options.Directory);
        var segment = Path.Combine(options.Directory, "log", "nv.log.0");
        var bytes = File.ReadAllBytes(segment);
        bytes.AsSpan(bytes.Length - (int)tail).Fill(0x5A);
        File.WriteAllBytes(segment, bytes);
        var refused = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(options));
        Assert.Contains("ends inside an entry header", refused.Message, StringComparison.Ordinal);

        options.RecoveryMode = WalRecoveryMode.TolerateCorruptedTail;
        await using var tolerant = WriteAheadLog.Open(options);
        Assert.Equal([1L, 2, 3, 4], (await ReadAll(tolerant)).Select(r => r.Lsn.Value));
        Assert.NotNull(tolerant.Recovery.BrokenTailPath);
    }

    // Bytes between the end of the last entry (an Nv record or a FasterLog commit record) and the end of the segment file.
    private static long TailAfterLastEntry(WalOptions options)
    {
        var basePath = Path.Combine(options.Directory, "log", "nv.log");
        using var reader = new SegmentReader(basePath, options.SegmentSizeBits);
        var scanner = new LogScanner(reader, options.PageSizeBits) { ReportCommitRecords = true };
        var address = LogScanner.FirstValidAddress;
        while (scanner.Next(ref address, long.MaxValue) is ScanStep.Record or ScanStep.Commit)
        {
        }

        return new FileInfo(basePath + ".0").Length - scanner.EntryEnd;
    }
}
