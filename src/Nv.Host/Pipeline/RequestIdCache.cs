using System.Collections.Concurrent;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Remembers recent request ids (in their caller's scope) and the write that owns each, so a retry finds the
/// first attempt without asking the database.</summary>
/// <remarks>
/// Authoritative for requests the database cannot answer yet: a write is <em>settled</em> once the database holds its
/// outcome (answered from the database's request outcomes, answered Applied or Rejected, or at or below the applied
/// watermark), and only settled ids are ever forgotten. An id still in flight, or durable in the WAL but not yet applied
/// (answered Pending while the database is down), stays remembered however many writes follow, so a retry of it can
/// never append a second record. Settled ids are forgotten oldest first beyond the capacity; a forgotten id is found in
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
    private readonly Func<Lsn> _appliedLsn;
    private int _count; // ConcurrentDictionary.Count takes every bucket lock: far too dear on the per-request path
    private int _queued;

    /// <param name="capacity">Settled ids to keep.</param>
    /// <param name="appliedLsn">The applied watermark: the database reflects every record at or below it.</param>
    public RequestIdCache(int capacity, Func<Lsn> appliedLsn)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentNullException.ThrowIfNull(appliedLsn);
        _capacity = capacity;
        _appliedLsn = appliedLsn;
    }

    /// <summary>Ids currently remembered.</summary>
    public int Count => Volatile.Read(ref _count);

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
        }
    }

    // Looks at the oldest entries: removed or replaced ones (stale) are dropped from the queue, settled ones are forgotten
    // while over capacity, unsettled ones go to the back of the queue (they are never forgotten).
    private void MakeRoom()
    {
        var budget = EvictionBudget;
        while (budget-- > 0 && (Volatile.Read(ref _count) > _capacity || Volatile.Read(ref _queued) > 2 * _capacity)
            && _order.TryDequeue(out var oldest))
        {
            Interlocked.Decrement(ref _queued);
            if (!_byKey.TryGetValue(oldest.Key, out var current) || !ReferenceEquals(current, oldest))
            {
                continue; // removed, or the id has a newer owner with its own queue entry
            }

            if (Volatile.Read(ref _count) > _capacity && IsSettled(oldest)
                && _byKey.TryRemove(new KeyValuePair<RequestKey, PendingWrite>(oldest.Key, oldest)))
            {
                Interlocked.Decrement(ref _count);
                continue;
            }

            _order.Enqueue(oldest);
            Interlocked.Increment(ref _queued);
        }
    }

    /// <summary>Whether the database can answer a retry of this write by itself.</summary>
    private bool IsSettled(PendingWrite write)
    {
        var completion = write.Completion.Task;
        if (write.Final is not null || (completion.IsCompletedSuccessfully && completion.Result.Status is WriteStatus.Applied or WriteStatus.Rejected))
        {
            return true; // its outcome is in the database (decided by the apply stage, or found there)
        }

        if (write.Record is { } record)
        {
            return record.Lsn <= _appliedLsn(); // appended: settled once applied, however its caller was answered
        }

        return completion.IsFaulted || completion.IsCanceled; // refused or failed before the WAL: nothing to protect
    }
}
