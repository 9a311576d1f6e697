using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

public sealed class RequestIdCacheTests
{
    private static PendingWrite Write(string requestId, string user = "u") => new(new WriteRequest
    {
        RequestId = requestId,
        Operation = WalOperation.Create,
        DtoType = "Item",
        EntityId = "e",
        UserId = user,
    });

    // Answered Applied and every stage done with it (audited): the database answers a retry alike, so the cache may forget it.
    private static PendingWrite Settled(string requestId)
    {
        var write = Write(requestId);
        write.Answer(new WriteOutcome { RequestId = requestId, Status = WriteStatus.Applied, Lsn = new Lsn(1) });
        write.Finish();
        return write;
    }

    private static RequestIdCache Cache(int capacity) => new(capacity);

    // A cache whose oldest entry is a write still in flight (or answered Pending while the database is down).
    private static (RequestIdCache Cache, PendingWrite Oldest) WithUnsettledHead(int capacity)
    {
        var cache = Cache(capacity);
        var oldest = Write("oldest");
        cache.GetOrAdd(oldest);
        return (cache, oldest);
    }

    [Fact]
    public void The_first_write_of_an_id_owns_it_and_a_retry_gets_the_owner()
    {
        var cache = Cache(10);
        var first = Write("r1");

        Assert.Same(first, cache.GetOrAdd(first));
        Assert.Same(first, cache.GetOrAdd(Write("r1")));
    }

    [Fact]
    public void Request_ids_are_scoped_to_their_caller()
    {
        var cache = Cache(10);
        var alice = Write("r1", "alice");
        var bob = Write("r1", "bob");

        Assert.Same(alice, cache.GetOrAdd(alice));
        Assert.Same(bob, cache.GetOrAdd(bob));
    }

    [Fact]
    public void Only_the_newest_settled_ids_are_kept_up_to_the_capacity()
    {
        var cache = Cache(3);
        var writes = Enumerable.Range(0, 5).Select(i => Settled("r" + i)).ToList();
        writes.ForEach(w => cache.GetOrAdd(w));

        // r0 and r1 were forgotten: a new write of those ids owns them again; r2..r4 are still remembered.
        var again = Write("r0");
        Assert.Same(again, cache.GetOrAdd(again));
        Assert.Same(writes[3], cache.GetOrAdd(Write("r3")));
        Assert.Same(writes[4], cache.GetOrAdd(Write("r4")));
    }

    [Fact]
    public void A_write_in_flight_durable_but_unapplied_or_applied_but_unaudited_is_never_forgotten()
    {
        var cache = Cache(2);
        var inFlight = Write("in-flight");
        var pending = Write("pending");
        pending.Record = new WalRecord
        {
            Id = Guid.CreateVersion7(), Lsn = new Lsn(7), Service = "s", Version = 1, Timestamp = DateTimeOffset.UnixEpoch,
            Operation = WalOperation.Create, DtoType = "Item", EntityId = "e", Payload = default, ReplayKey = "k", RequestId = "pending",
        };
        pending.Answer(new WriteOutcome { RequestId = "pending", Status = WriteStatus.Pending, Lsn = new Lsn(7) }); // database down
        var unaudited = Write("unaudited");
        unaudited.OnApplied(new WriteOutcome { RequestId = "unaudited", Status = WriteStatus.Applied, Lsn = new Lsn(8) }); // its audit still to come
        cache.GetOrAdd(inFlight);
        cache.GetOrAdd(pending);
        cache.GetOrAdd(unaudited);
        for (var i = 0; i < 50; i++)
        {
            cache.GetOrAdd(Settled("later-" + i));
        }

        Assert.Same(inFlight, cache.GetOrAdd(Write("in-flight")));
        Assert.Same(pending, cache.GetOrAdd(Write("pending")));
        Assert.Same(unaudited, cache.GetOrAdd(Write("unaudited")));

        // Once every stage is done with them (applied, then audited), they are settled like any other: forgotten once the
        // oldest write, still in flight, no longer holds the line (writes settle nearly in order, so the cache waits for
        // its oldest unsettled write instead of cycling it; the lag gate bounds how many there are).
        pending.Finish();
        unaudited.Finish();
        cache.GetOrAdd(Settled("even-later"));
        Assert.Same(pending, cache.GetOrAdd(Write("pending")));
        Assert.Same(inFlight, cache.GetOrAdd(Write("in-flight")));

        inFlight.Answer(new WriteOutcome { RequestId = "in-flight", Status = WriteStatus.Applied, Lsn = new Lsn(6) });
        inFlight.Finish();
        for (var i = 0; i < 50; i++)
        {
            cache.GetOrAdd(Settled("even-later-" + i));
        }

        foreach (var id in (string[])["in-flight", "pending", "unaudited"])
        {
            var fresh = Write(id);
            Assert.Same(fresh, cache.GetOrAdd(fresh));
        }

        Assert.InRange(cache.Count, 1, 2 + 3); // the capacity, plus the fresh writes of the three ids (unsettled)
    }

    [Fact]
    public void An_unsettled_oldest_write_holds_eviction_back_and_the_cache_catches_up_once_it_settles()
    {
        var (cache, oldest) = WithUnsettledHead(2);
        for (var i = 0; i < 20; i++)
        {
            cache.GetOrAdd(Settled("s" + i));
        }

        Assert.Equal(21, cache.Count); // nothing forgotten past the unsettled head
        oldest.Answer(new WriteOutcome { RequestId = "oldest", Status = WriteStatus.Applied, Lsn = new Lsn(1) });
        oldest.Finish();
        for (var i = 0; i < 4; i++)
        {
            cache.GetOrAdd(Settled("t" + i)); // each add forgets up to its budget of settled ids
        }

        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void A_removed_write_frees_its_id_and_its_slot()
    {
        var cache = Cache(2);
        var refused = Write("a");
        cache.GetOrAdd(refused);
        cache.Remove(refused);
        var b = Settled("b");
        var c = Settled("c");
        cache.GetOrAdd(b);
        cache.GetOrAdd(c);

        // Had the removed id still counted, b would have been evicted to make room for c.
        Assert.Same(b, cache.GetOrAdd(Write("b")));
        Assert.Same(c, cache.GetOrAdd(Write("c")));
        var retry = Write("a");
        Assert.Same(retry, cache.GetOrAdd(retry));
    }

    [Fact]
    public void A_stale_entry_of_a_removed_write_never_evicts_the_ids_new_owner()
    {
        var cache = Cache(3);
        var a = Write("a");
        cache.GetOrAdd(a);
        cache.GetOrAdd(Settled("b"));
        cache.Remove(a);                   // refused: its queue entry stays behind, oldest
        cache.GetOrAdd(Settled("x"));
        var a2 = Settled("a");             // the id's new owner, newer than b and x
        cache.GetOrAdd(a2);
        cache.GetOrAdd(Settled("c"));      // over capacity: the oldest live id (b) goes, not a2

        Assert.Same(a2, cache.GetOrAdd(Write("a")));
        var b = Write("b");
        Assert.Same(b, cache.GetOrAdd(b));
    }

    [Fact]
    public async Task Concurrent_adds_keep_the_cache_bounded()
    {
        var cache = Cache(100);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                cache.GetOrAdd(Settled($"t{t}-{i}"));
            }
        })));

        Assert.InRange(cache.Count, 1, 100);
    }

    [Fact]
    public void Removed_writes_behind_an_unsettled_oldest_write_do_not_pile_up_in_the_queue()
    {
        // During a database outage the oldest write stays unsettled (answered Pending) while callers give up on newer ones
        // (removed): their queue entries were dropped only past the head, so they piled up for as long as the outage lasted.
        var (cache, stuck) = WithUnsettledHead(4);
        for (var i = 0; i < 1_000; i++)
        {
            var gaveUp = Write("r" + i);
            cache.GetOrAdd(gaveUp);
            cache.Remove(gaveUp);
        }

        Assert.InRange(cache.Queued, 1, 2 * (4 + 8)); // capacity-bound, not 1,001
        Assert.Same(stuck, cache.GetOrAdd(Write("oldest")));
        Assert.Equal(1, cache.Count);
    }
}
