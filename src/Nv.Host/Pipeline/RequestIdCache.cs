using System.Collections.Concurrent;
using Nv.DbWriter;

namespace Nv.Host.Pipeline;

/// <summary>Remembers recent request ids (in their caller's scope) and the write that owns each, so a retry finds the
/// first attempt without asking the database.</summary>
/// <remarks>
/// Authoritative for requests the database cannot answer yet, or not yet the way their first attempt answers: a write is
/// <em>settled</em> once every stage is done with it (applied and audited, or answered from the database's request
/// outcomes) or it was refused before the WAL, and only settled ids are ever forgotten. An id still in flight, durable in
/// the WAL but not yet applied (answered Pending while the database is down), or applied but not yet audited, stays
/// remembered however many writes follow, so a retry of it can never append a second record, nor hear an Audited answer
/// before the audit. Settled ids are forgotten oldest first beyond the capacity; a forgotten id is found in
/// the database's request outcomes. Thread-safe; the work per call is bounded.
/// </remarks>
internal sealed class RequestIdCache
{
    // How many queue entries one add may look at while making room: bounded work per request even when the oldest
    // entries are all unsettled (a database outage) or stale (removed ids).
    private const int EvictionBudget = 8;

    private readonly ConcurrentDictionary<RequestKey, PendingWrite> _byKey = new();
    private readonly ConcurrentQueue<PendingWrite> _order = new();
    private readonly int _capacity;
    private int _count; // ConcurrentDictionary.Count takes every bucket lock: far too dear on the per-request path
    private int _queued;
    private int _stale; // queue entries of removed writes, still queued

    /// <param name="capacity">Settled ids to keep.</param>
    public RequestIdCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _capacity = capacity;
    }

    /// <summary>Ids currently remembered.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Entries in the eviction queue, stale ones included (tests).</summary>
    internal int Queued => Volatile.Read(ref _queued);

    /// <summary>Adds <paramref name="candidate"/> unless its id is known; returns the write that owns the id.</summary>
    public PendingWrite GetOrAdd(PendingWrite candidate)
    {
        var owner = _byKey.GetOrAdd(candidate.Key, candidate);
        if (ReferenceEquals(owner, candidate))
        {
            _order.Enqueue(candidate);
            Interlocked.Increment(ref _queued);
            Interlocked.Increment(ref _count);
            MakeRoom();
        }

        return owner;
    }

    /// <summary>The write that owns <paramref name="key"/>, if it is remembered.</summary>
    public bool TryGet(RequestKey key, out PendingWrite write) => _byKey.TryGetValue(key, out write!);

    /// <summary>Forgets a write that never reached the WAL (refused or failed), so a retry of its id is a fresh attempt.
    /// Only that write is forgotten: a newer owner of the same id is left alone.</summary>
    public void Remove(PendingWrite write)
    {
        if (_byKey.TryRemove(new KeyValuePair<RequestKey, PendingWrite>(write.Key, write)))
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Increment(ref _stale); // its queue entry stays until MakeRoom drops it
        }
    }

    // Looks at the oldest entries: removed or replaced ones (stale) are dropped from the queue and settled ones forgotten
    // while over capacity. An unsettled oldest entry stops the look: writes settle nearly in the order they came (the audit
    // stage goes in LSN order), so the ones behind it are mostly unsettled too, and moving it to the back instead cost every
    // add its whole budget of queue operations while an audit backlog sat at the head. Unsettled writes are outstanding
    // ones, which the lag gate bounds (MaxLagRecords), so the cache stays bounded while it waits. The entries of removed
    // writes (refused, or given up before the queue: callers timing out during a database outage, say) are not bounded by
    // it: past the capacity of them, the unsettled head goes to the back again so that the stale entries behind it are
    // dropped (found by a review: they piled up for as long as the head stayed unsettled, each holding its payload).
    private void MakeRoom()
    {
        var budget = EvictionBudget;
        while (budget-- > 0 && (Volatile.Read(ref _count) > _capacity || Volatile.Read(ref _queued) > 2 * _capacity)
            && _order.TryPeek(out var head))
        {
            if (IsLive(head) && !IsSettled(head) && Volatile.Read(ref _stale) <= _capacity)
            {
                return;
            }

            if (!_order.TryDequeue(out var oldest))
            {
                return;
            }

            Interlocked.Decrement(ref _queued);
            if (!IsLive(oldest))
            {
                Interlocked.Decrement(ref _stale);
                continue; // removed (the id may have a newer owner, with its own queue entry)
            }

            if (Volatile.Read(ref _count) > _capacity && IsSettled(oldest)
                && _byKey.TryRemove(new KeyValuePair<RequestKey, PendingWrite>(oldest.Key, oldest)))
            {
                Interlocked.Decrement(ref _count);
                continue;
            }

            // Another add took the head between the look and the take, or the cache is back within capacity: keep it.
            _order.Enqueue(oldest);
            Interlocked.Increment(ref _queued);
        }
    }

    private bool IsLive(PendingWrite write) => _byKey.TryGetValue(write.Key, out var current) && ReferenceEquals(current, write);

    /// <summary>Whether the database can answer a retry of this write by itself, exactly as this write answers it.</summary>
    /// <remarks>Only once every stage is done with it: an applied write is not settled before its audit, because a retry of
    /// an Audited write waits for the audit of its first attempt, while the database's outcome (there since the apply)
    /// would answer at once (found by a review when the cache shrank to 1,024: one slow audit batch was enough).</remarks>
    private static bool IsSettled(PendingWrite write)
    {
        if (write.IsFinished)
        {
            return true; // audited, or answered from a stored outcome
        }

        var completion = write.Completion.Task;
        return write.Record is null && (completion.IsFaulted || completion.IsCanceled); // refused or failed before the WAL
    }
}
