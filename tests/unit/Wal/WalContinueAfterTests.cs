using Nv.Wal;
using Nv.Wal.Recovery;

namespace Nv.Unit.Tests.Wal;

/// <summary><see cref="IWriteAheadLog.ContinueAfterAsync"/>: after data loss, LSNs continue above the highest a store holds,
/// durably, and recovery accepts exactly that recorded jump.</summary>
public sealed class WalContinueAfterTests : WalTestBase
{
    private string JumpsPath => Path.Combine(Directory, LsnJumps.FileName);

    /// <summary>A log holding LSNs 1..<paramref name="count"/>, closed: the state an open finds before it may continue.</summary>
    private async Task WriteAndClose(int count, int segmentBits = 16)
    {
        await using var wal = Open(segmentBits: segmentBits);
        await AppendFlushed(wal, count);
    }

    private static async Task<List<long>> Lsns(IWriteAheadLog wal, Lsn from = default) => [.. (await ReadAll(wal, from)).Select(r => r.Lsn.Value)];

    [Fact]
    public async Task The_next_lsn_is_highest_seen_plus_one_across_reopens_before_and_after_the_next_append()
    {
        await WriteAndClose(5);
        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(100), Ct);
            Assert.Equal(new Lsn(100), wal.LastLsn);
            Assert.Equal(new Lsn(100), wal.DurableLsn);
        }

        await using (var wal = Open())
        {
            Assert.Equal(new Lsn(100), wal.LastLsn);
            var next = await wal.AppendAsync(Record(6), Ct);
            await wal.FlushAsync(next.Lsn, Ct);
            Assert.Equal(new Lsn(101), next.Lsn);
        }

        await using (var wal = Open())
        {
            Assert.Equal([1, 2, 3, 4, 5, 101], await Lsns(wal));
            Assert.Equal(new Lsn(101), wal.LastLsn);
            Assert.Equal(new Lsn(102), (await wal.AppendAsync(Record(7), Ct)).Lsn);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_crash_before_or_after_the_next_append_keeps_the_jump(bool appendBeforeCrash)
    {
        var image = Path.Combine(Directory, "image");
        await WriteAndClose(5);
        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(100), Ct);
            if (appendBeforeCrash)
            {
                var r = await wal.AppendAsync(Record(6), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
            }

            CopyDirectory(Directory, image); // the crash image: no clean close
        }

        var options = Options();
        options.Directory = image;
        await using var reopened = WriteAheadLog.Open(options);
        Assert.Equal(appendBeforeCrash ? [1, 2, 3, 4, 5, 101] : [1, 2, 3, 4, 5], await Lsns(reopened));
        var next = await reopened.AppendAsync(Record(9), Ct);
        Assert.Equal(new Lsn(appendBeforeCrash ? 102 : 101), next.Lsn);
    }

    [Fact]
    public async Task The_jump_survives_the_truncation_of_every_older_record()
    {
        await WriteAndClose(200, segmentBits: 13);
        await using (var wal = Open(segmentBits: 13))
        {
            await wal.ContinueAfterAsync(new Lsn(1000), Ct);
            await AppendFlushed(wal, 100, 1000);
            Assert.Equal(new Lsn(1100), wal.LastLsn);
            wal.AdvanceApplied(new Lsn(1099));
            wal.AdvanceAudited(new Lsn(1099));
            Assert.Equal(new Lsn(1100), await wal.TruncateAsync(Ct));
        }

        await using (var wal = Open(segmentBits: 13))
        {
            Assert.Equal([1100], await Lsns(wal));
            var truncated = await Assert.ThrowsAsync<WalTruncatedException>(async () => await Lsns(wal, new Lsn(150)));
            Assert.Equal(new Lsn(1100), truncated.FirstLsn);
            Assert.Equal(new Lsn(1101), (await wal.AppendAsync(Record(1), Ct)).Lsn);
        }
    }

    // The cut is at most the durable LSN, which after a jump is an LSN no record has: the truncation's lookup of it ran off the
    // end of the log and threw "Cannot locate LSN 100 for truncation" on every maintenance pass until the next flush.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_truncation_up_to_the_jump_keeps_the_last_record_before_it(bool appendedNotFlushed)
    {
        await WriteAndClose(50, segmentBits: 13);
        await using (var wal = Open(segmentBits: 13))
        {
            var before = SegmentFileCount();
            await wal.ContinueAfterAsync(new Lsn(100), Ct);
            if (appendedNotFlushed)
            {
                Assert.Equal(new Lsn(101), (await wal.AppendAsync(Record(100), Ct)).Lsn);
            }

            wal.AdvanceApplied(new Lsn(100));
            wal.AdvanceAudited(new Lsn(100));
            Assert.Equal(new Lsn(50), await wal.TruncateAsync(Ct));
            Assert.Equal(WalState.Open, wal.State);
            await WaitForSegmentDeletion(before);
            Assert.Equal([50], await Lsns(wal));
            await wal.FlushAsync(wal.LastLsn, Ct);
        }

        await using (var wal = Open(segmentBits: 13))
        {
            Assert.Equal(appendedNotFlushed ? [50, 101] : [50], await Lsns(wal));
            Assert.Equal(new Lsn(appendedNotFlushed ? 102 : 101), (await wal.AppendAsync(Record(101), Ct)).Lsn);
        }
    }

    [Fact]
    public async Task An_empty_log_continues_above_the_highest_seen_and_refuses_reads_below_it()
    {
        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(40), Ct);
        }

        await using var reopened = Open();
        Assert.Equal(new Lsn(40), reopened.LastLsn);
        var ex = await Assert.ThrowsAsync<WalTruncatedException>(async () => await Lsns(reopened, new Lsn(7)));
        Assert.Equal(new Lsn(41), ex.FirstLsn);
        var next = await reopened.AppendAsync(Record(1), Ct);
        await reopened.FlushAsync(next.Lsn, Ct);
        Assert.Equal(new Lsn(41), next.Lsn);
        Assert.Equal([41], await Lsns(reopened, new Lsn(41)));
    }

    [Fact]
    public async Task It_is_refused_after_an_append_and_a_value_at_or_below_the_last_lsn_changes_nothing()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 5);
        }

        var before = File.ReadAllBytes(JumpsPath);
        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(5), Ct);
            await wal.ContinueAfterAsync(new Lsn(2), Ct);
            Assert.Equal(new Lsn(5), wal.LastLsn);
            Assert.Equal(before, File.ReadAllBytes(JumpsPath));

            await wal.AppendAsync(Record(6), Ct);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await wal.ContinueAfterAsync(new Lsn(100), Ct));
            Assert.Equal(new Lsn(6), wal.LastLsn);
            Assert.Equal(before, File.ReadAllBytes(JumpsPath));
        }
    }

    [Fact]
    public async Task Calling_it_twice_before_the_first_append_keeps_the_higher_value()
    {
        await WriteAndClose(5);
        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(50), Ct);
            await wal.ContinueAfterAsync(new Lsn(80), Ct);
            await wal.ContinueAfterAsync(new Lsn(60), Ct);
            Assert.Equal(new Lsn(81), (await wal.AppendAsync(Record(6), Ct)).Lsn);
            await wal.FlushAsync(wal.LastLsn, Ct);
        }

        await using var reopened = Open();
        Assert.Equal([1, 2, 3, 4, 5, 81], await Lsns(reopened));
    }

    [Theory]
    [InlineData("other")]
    [InlineData("none")]
    public async Task Recovery_accepts_only_the_recorded_jump(string list)
    {
        await WriteAndClose(5);
        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(100), Ct);
            await AppendFlushed(wal, 2);
        }

        File.WriteAllBytes(JumpsPath, LsnJumps.Encode(list == "other" ? [(5, 50)] : []));
        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Contains("LSN 101 does not follow LSN 5", ex.Message, StringComparison.Ordinal);
        Assert.Equal(new Lsn(5), ex.LastGoodLsn);
    }

    [Fact]
    public async Task An_unrecorded_jump_between_adjacent_records_is_refused()
    {
        // A skip rebuilds the log without record 4: record 5 directly follows record 3. The jump is recorded; without the
        // record (an empty list) it is a gap like any other, no longer accepted because the records are adjacent.
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
        await using (var wal = Open(WalRecoveryMode.SkipAnyCorruptedRecord))
        {
            Assert.Equal([1, 2, 3, 5, 6, 7, 8], await Lsns(wal));
        }

        await using (var wal = Open())
        {
            Assert.Equal([1, 2, 3, 5, 6, 7, 8], await Lsns(wal));
        }

        File.WriteAllBytes(JumpsPath, LsnJumps.Encode([]));
        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Contains("LSN 5 does not follow LSN 3", ex.Message, StringComparison.Ordinal);
    }
}
