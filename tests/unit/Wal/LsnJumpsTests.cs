using Nv.Wal;
using Nv.Wal.Framing;
using Nv.Wal.Recovery;

namespace Nv.Unit.Tests.Wal;

/// <summary>The persisted LSN jump list (<c>lsn-jumps</c>, format v1): round trip, damaged input, migration from logs
/// written before it existed.</summary>
public sealed class LsnJumpsTests : WalTestBase
{
    private string JumpsPath => Path.Combine(Directory, LsnJumps.FileName);

    public static TheoryData<(long, long)[]> Lists => new() { Array.Empty<(long, long)>(), new[] { (5L, 101L) }, new[] { (0L, 41L), (3L, 5L), (long.MaxValue - 5, long.MaxValue) } };

    [Theory]
    [MemberData(nameof(Lists))]
    public void Round_trip_preserves_every_jump(params (long, long)[] entries)
    {
        var bytes = LsnJumps.Encode(entries);
        Assert.True(LsnJumps.TryDecode(bytes, out var decoded, out var problem), problem);
        Assert.Equal(entries, decoded);
        Assert.Equal("NVLJ"u8.ToArray(), bytes[..4]);
        Assert.Equal(1, BitConverter.ToInt32(bytes, 4));
    }

    [Fact]
    public void Every_single_bit_flip_and_every_truncation_is_detected()
    {
        var bytes = LsnJumps.Encode([(5, 101), (200, 300)]);
        for (var bit = 0; bit < bytes.Length * 8; bit++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(LsnJumps.TryDecode(damaged, out _, out _), $"bit {bit}");
        }

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(LsnJumps.TryDecode(bytes.AsSpan(0, length), out _, out _), $"length {length}");
        }
    }

    [Fact]
    public void A_later_version_is_newer_only_when_the_list_is_intact()
    {
        var bytes = LsnJumps.Encode([(5, 101)]);
        BitConverter.GetBytes(2).CopyTo(bytes, 4);
        Assert.Equal(LsnJumps.DecodeStatus.Damaged, LsnJumps.Decode(bytes, out _, out var problem));
        Assert.Contains("CRC-32C", problem, StringComparison.Ordinal);

        BitConverter.GetBytes(Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4))).CopyTo(bytes, bytes.Length - 4);
        Assert.Equal(LsnJumps.DecodeStatus.Newer, LsnJumps.Decode(bytes, out _, out problem));
        Assert.Equal("version 2", problem);
        Assert.False(LsnJumps.TryDecode(bytes, out _, out _));
    }

    [Fact]
    public void Version_0_with_a_valid_crc_is_damage()
    {
        var bytes = LsnJumps.Encode([(5, 101)]);
        BitConverter.GetBytes(0).CopyTo(bytes, 4);
        BitConverter.GetBytes(Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4))).CopyTo(bytes, bytes.Length - 4);
        Assert.Equal(LsnJumps.DecodeStatus.Damaged, LsnJumps.Decode(bytes, out _, out var problem));
        Assert.Contains("version 0", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_list_refuses_to_open_naming_the_file_and_leaves_it_alone()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 3);
        }

        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(10), Ct);
        }

        var bytes = File.ReadAllBytes(JumpsPath);
        bytes[20] ^= 0x10;
        File.WriteAllBytes(JumpsPath, bytes);
        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Equal(JumpsPath, ex.Path);
        Assert.Contains("restore it", ex.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(JumpsPath));
    }

    [Fact]
    public async Task A_new_log_writes_an_empty_list()
    {
        await using var wal = Open();
        Assert.True(LsnJumps.TryDecode(File.ReadAllBytes(JumpsPath), out var entries, out _));
        Assert.Empty(entries);
    }

    [Fact]
    public async Task Migration_a_log_from_before_the_list_existed_keeps_its_adjacent_jumps_once_and_records_them()
    {
        // Version 0: a log whose skip-rebuilt hole (record 5 right after record 3) was accepted because the records are
        // adjacent, and no lsn-jumps file.
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
        }

        File.Delete(JumpsPath);

        // First open under v1: the adjacent jump is accepted and written down.
        await using (var wal = Open())
        {
            Assert.Equal([1, 2, 3, 5, 6, 7, 8], (await ReadAll(wal)).Select(r => r.Lsn.Value));
        }

        Assert.True(LsnJumps.TryDecode(File.ReadAllBytes(JumpsPath), out var entries, out _));
        Assert.Equal([(3L, 5L)], entries);
        await using var again = Open();
        Assert.Equal(new Lsn(8), again.LastLsn);
    }

    [Fact]
    public async Task Migration_a_dense_log_from_before_the_list_existed_opens_and_gets_an_empty_list()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 4);
        }

        File.Delete(JumpsPath);
        await using var reopened = Open();
        Assert.Equal(new Lsn(4), reopened.LastLsn);
        Assert.True(LsnJumps.TryDecode(File.ReadAllBytes(JumpsPath), out var entries, out _));
        Assert.Empty(entries);
    }
}
