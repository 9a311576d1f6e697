using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalAppendReadTests : WalTestBase
{
    [Fact]
    public async Task Records_are_readable_after_reopen_in_lsn_order()
    {
        List<WalRecord> written;
        await using (var wal = Open())
        {
            written = await AppendFlushed(wal, 300);
            Assert.Equal(new Lsn(300), wal.DurableLsn);
        }

        await using (var wal = Open())
        {
            Assert.Equal(300, wal.Recovery.RecordCount);
            Assert.Equal(new Lsn(1), wal.Recovery.FirstLsn);
            Assert.Equal(new Lsn(300), wal.LastLsn);
            var read = await ReadAll(wal);
            Assert.Equal(written.Select(r => r.Lsn), read.Select(r => r.Lsn));
            Assert.Equal(written.Select(r => r.Id), read.Select(r => r.Id));
            Assert.Equal(written.Select(r => r.Payload.GetRawText()), read.Select(r => r.Payload.GetRawText()));

            var next = await wal.AppendAsync(Record(1000), Ct);
            Assert.Equal(new Lsn(301), next.Lsn);
        }
    }

    [Fact]
    public async Task Read_from_a_middle_lsn_starts_there()
    {
        await using var wal = Open();
        await AppendFlushed(wal, 500);
        var read = await ReadAll(wal, new Lsn(237));
        Assert.Equal(Enumerable.Range(237, 264).Select(i => (long)i), read.Select(r => r.Lsn.Value));
    }

    [Fact]
    public async Task Read_returns_only_durable_records()
    {
        await using var wal = Open();
        await AppendFlushed(wal, 10);
        await wal.AppendAsync(Record(99), Ct);
        var read = await ReadAll(wal);
        Assert.Equal(10, read.Count);
    }

    [Fact]
    public async Task Concurrent_appends_and_flushes_are_dense_ordered_and_complete_after_reopen()
    {
        const int tasks = 32;
        const int perTask = 500;
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<(Lsn Lsn, Guid Id)>();
        await using (var wal = Open())
        {
            await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
            {
                for (var i = 0; i < perTask; i++)
                {
                    var r = await wal.AppendAsync(Record((t * perTask) + i));
                    await wal.FlushAsync(r.Lsn, Ct);
                    Assert.True(wal.DurableLsn >= r.Lsn);
                    acknowledged.Add((r.Lsn, r.Id));
                }
            })));
        }

        await using (var wal = Open())
        {
            var read = await ReadAll(wal);
            Assert.Equal(tasks * perTask, read.Count);
            Assert.Equal(Enumerable.Range(1, tasks * perTask).Select(i => (long)i), read.Select(r => r.Lsn.Value));
            var byLsn = read.ToDictionary(r => r.Lsn, r => r.Id);
            foreach (var (lsn, id) in acknowledged)
            {
                Assert.Equal(id, byLsn[lsn]);
            }

            Assert.Equal(tasks * perTask, read.Select(r => r.Id).Distinct().Count());
        }
    }

    [Fact]
    public async Task Append_after_dispose_throws()
    {
        var wal = Open();
        await wal.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await wal.AppendAsync(Record(1), Ct));
    }
}
