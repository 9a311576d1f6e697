using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>The in-memory mode's log (WriteAheadLog.CreateInMemory): the file log's contract without the files.</summary>
public sealed class InMemoryWriteAheadLogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WalRecord Record(int i) => WalRecordCodecTestsData.Single() with { Id = Guid.CreateVersion7(), RequestId = "r" + i, Lsn = Lsn.None };

    private static async Task<List<WalRecord>> ReadAll(IWriteAheadLog wal, long from = 1)
    {
        var list = new List<WalRecord>();
        await foreach (var record in wal.ReadAsync(new Lsn(from), Ct))
        {
            list.Add(record);
        }

        return list;
    }

    [Fact]
    public async Task Lsns_are_dense_reads_see_durable_records_only_and_read_back_what_the_codec_would()
    {
        await using var wal = WriteAheadLog.CreateInMemory();
        var first = await wal.AppendAsync(Record(1), Ct);
        var batch = await wal.AppendAsync(WalBatchRecordCodecTests.Batch(2) with { Lsn = Lsn.None }, Ct);
        await wal.AppendAsync(Record(3), Ct);
        Assert.Equal((1L, 2L, new Lsn(3)), (first.Lsn.Value, batch.Lsn.Value, wal.LastLsn));

        Assert.Empty(await ReadAll(wal));
        await wal.FlushAsync(new Lsn(2), Ct);
        var read = await ReadAll(wal);
        Assert.Equal([1L, 2L], read.Select(r => r.Lsn.Value));
        Assert.Equal(WalOperation.Batch, read[1].Operation);
        Assert.Equal(2, read[1].Items!.Count);
        Assert.Equal(new Lsn(2), wal.DurableLsn);
        Assert.Equal(WalState.Open, wal.State);
    }

    [Fact]
    public async Task A_record_over_the_limit_is_refused_as_on_disk()
    {
        await using var wal = WriteAheadLog.CreateInMemory(new WalOptions { MaxRecordBytes = 128 });
        await Assert.ThrowsAsync<WalRecordTooLargeException>(async () => await wal.AppendAsync(Record(1), Ct));
        Assert.Equal(Lsn.None, wal.LastLsn);
    }

    [Fact]
    public async Task Truncation_frees_records_below_both_watermarks_but_keeps_the_last_and_the_lsn_sequence()
    {
        await using var wal = WriteAheadLog.CreateInMemory();
        for (var i = 0; i < 10; i++)
        {
            await wal.AppendAsync(Record(i), Ct);
        }

        await wal.FlushAsync(wal.LastLsn, Ct);
        wal.AdvanceApplied(new Lsn(8));
        wal.AdvanceAudited(new Lsn(6));
        Assert.Equal(new Lsn(7), await wal.TruncateAsync(Ct));
        Assert.Equal(new Lsn(7), wal.GetStatistics().FirstLsn);
        Assert.Throws<WalTruncatedException>(() => wal.ReadAsync(new Lsn(3), Ct).GetAsyncEnumerator(Ct).MoveNextAsync().AsTask().GetAwaiter().GetResult());
        Assert.Equal([7L, 8L, 9L, 10L], (await ReadAll(wal, 7)).Select(r => r.Lsn.Value));

        wal.AdvanceApplied(new Lsn(10));
        wal.AdvanceAudited(new Lsn(10));
        Assert.Equal(new Lsn(10), await wal.TruncateAsync(Ct));
        Assert.Equal(new Lsn(11), (await wal.AppendAsync(Record(11), Ct)).Lsn);
    }
}
