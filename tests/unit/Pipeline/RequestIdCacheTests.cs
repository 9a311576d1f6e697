using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

public sealed class RequestIdCacheTests
{
    private static PendingWrite Write(string requestId) => new(new WriteRequest
    {
        RequestId = requestId,
        Operation = WalOperation.Create,
        DtoType = "Item",
        EntityId = "e",
    });

    [Fact]
    public void The_first_write_of_an_id_owns_it_and_a_retry_gets_the_owner()
    {
        var cache = new RequestIdCache(10);
        var first = Write("r1");

        Assert.Same(first, cache.GetOrAdd(first));
        Assert.Same(first, cache.GetOrAdd(Write("r1")));
    }

    [Fact]
    public void Only_the_newest_ids_are_kept_up_to_the_capacity()
    {
        var cache = new RequestIdCache(3);
        var writes = Enumerable.Range(0, 5).Select(i => Write("r" + i)).ToList();
        writes.ForEach(w => cache.GetOrAdd(w));

        // r0 and r1 were forgotten: a new write of those ids owns them again; r2..r4 are still remembered.
        var again = Write("r0");
        Assert.Same(again, cache.GetOrAdd(again));
        Assert.Same(writes[3], cache.GetOrAdd(Write("r3")));
        Assert.Same(writes[4], cache.GetOrAdd(Write("r4")));
    }

    [Fact]
    public void A_removed_write_frees_its_id_and_its_slot()
    {
        var cache = new RequestIdCache(2);
        var refused = Write("a");
        cache.GetOrAdd(refused);
        cache.Remove(refused);
        var b = Write("b");
        var c = Write("c");
        cache.GetOrAdd(b);
        cache.GetOrAdd(c);

        // Had the removed id still counted, b would have been evicted to make room for c.
        Assert.Same(b, cache.GetOrAdd(Write("b")));
        Assert.Same(c, cache.GetOrAdd(Write("c")));
        var retry = Write("a");
        Assert.Same(retry, cache.GetOrAdd(retry));
    }

    [Fact]
    public async Task Concurrent_adds_keep_the_cache_bounded()
    {
        var cache = new RequestIdCache(100);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                cache.GetOrAdd(Write($"t{t}-{i}"));
            }
        })));

        Assert.InRange(cache.Count, 1, 100);
    }
}
