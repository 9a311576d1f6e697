using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>Batch records (WAL record format 2) in a real FasterLog: durable and read back whole, and a torn batch is cut
/// whole by recovery — never read back as a shorter batch.</summary>
public sealed class WalBatchRecordTests : WalTestBase
{
    private static WalRecord Batch(int i) => WalBatchRecordCodecTests.Batch(3) with { RequestId = $"batch-{i}", Lsn = Lsn.None };

    [Fact]
    public async Task A_batch_between_single_records_is_read_back_whole_after_reopen()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 2);
            var batch = await wal.AppendAsync(Batch(1), Ct);
            Assert.Equal(new Lsn(3), batch.Lsn);
            await AppendFlushed(wal, 2, start: 10);
        }

        await using (var wal = Open())
        {
            var read = await ReadAll(wal);
            Assert.Equal([1L, 2, 3, 4, 5], read.Select(r => r.Lsn.Value));
            Assert.Equal([WalOperation.Update, WalOperation.Update, WalOperation.Batch, WalOperation.Update, WalOperation.Update],
                read.Select(r => r.Operation));
            var batch = read[2];
            Assert.Equal("batch-1", batch.RequestId);
            Assert.Equal(3, batch.Items!.Count);
            Assert.All(batch.EntityChanges(), c => Assert.Equal(new Lsn(3), c.Lsn));
            Assert.Equal(new Lsn(6), (await wal.AppendAsync(Record(99), Ct)).Lsn);
        }
    }

    [Fact]
    public async Task A_batch_torn_anywhere_is_cut_whole_by_recovery()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 3);
            var batch = await wal.AppendAsync(Batch(1), Ct);
            await wal.FlushAsync(batch.Lsn, Ct);
        }

        var (start, end) = Locate(SegmentPath(), lsn: 4);
        var snapshot = Path.Combine(Directory, "snapshot");
        CopyDirectory(LogDirectory, snapshot);
        var original = File.ReadAllBytes(SegmentPath());
        for (var cut = start; cut < end; cut += Math.Max(1, (end - start) / 40))
        {
            System.IO.Directory.Delete(LogDirectory, recursive: true);
            CopyDirectory(snapshot, LogDirectory);
            File.WriteAllBytes(SegmentPath(), original.AsSpan(0, (int)cut).ToArray());
            // The batch was flushed, so the default mode refuses to cut it (damage below the durable point, see
            // WalCorruptionTests); PointInTime is the operator's explicit "cut at the damage": it must cut the batch whole.
            await Assert.ThrowsAsync<WalCorruptionException>(async () => { await using var refused = Open(); });
            await using var wal = Open(WalRecoveryMode.PointInTime);
            var read = await ReadAll(wal);
            Assert.True(read.Count == 3, $"cut at {cut} (batch frame {start}..{end}) read {read.Count} records");
            Assert.DoesNotContain(read, r => r.Operation == WalOperation.Batch);
        }
    }

    /// <summary>The (start, end) byte range of LSN <paramref name="lsn"/>'s frame in a segment (12-byte FasterLog entry
    /// header, then Nv's frame: magic "NV" at +12, body length at +16... sequence at +20).</summary>
    private static (long Start, long End) Locate(string segment, long lsn)
    {
        var bytes = File.ReadAllBytes(segment);
        for (var p = 64; p + 32 <= bytes.Length; p += 4)
        {
            if (bytes[p + 12] == 0x4E && bytes[p + 13] == 0x56 && BitConverter.ToInt64(bytes, p + 20) == lsn && BitConverter.ToInt32(bytes, p + 8) > 20)
            {
                return (p, p + 12 + BitConverter.ToInt32(bytes, p + 8));
            }
        }

        throw new InvalidOperationException($"LSN {lsn} not found in {segment}");
    }
}
