using System.Collections.Concurrent;

namespace Nv.Host.Pipeline;

/// <summary>Remembers the most recent request ids and the task of their first attempt, so a retry returns the first outcome.</summary>
/// <remarks>Bounded: the oldest ids are forgotten first; forgotten ids are still found through the database's
/// resolutions, so the cache only saves a lookup. Thread-safe.</remarks>
internal sealed class RequestIdCache
{
    private readonly ConcurrentDictionary<string, PendingWrite> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly int _capacity;
    private int _count; // ConcurrentDictionary.Count takes every bucket lock: far too dear on the per-request path

    public RequestIdCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _capacity = capacity;
    }

    /// <summary>Ids currently remembered.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds <paramref name="candidate"/> unless the id is known; returns the write that owns the id.</summary>
    public PendingWrite GetOrAdd(PendingWrite candidate)
    {
        var owner = _byId.GetOrAdd(candidate.Request.RequestId, candidate);
        if (ReferenceEquals(owner, candidate))
        {
            _order.Enqueue(candidate.Request.RequestId);
            Interlocked.Increment(ref _count);
            while (Volatile.Read(ref _count) > _capacity && _order.TryDequeue(out var oldest))
            {
                if (_byId.TryRemove(oldest, out _))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }

        return owner;
    }

    /// <summary>The write that owns <paramref name="requestId"/>, if it is remembered.</summary>
    public bool TryGet(string requestId, out PendingWrite write) => _byId.TryGetValue(requestId, out write!);

    /// <summary>Forgets an id whose write never reached the WAL (so a retry is a fresh attempt).</summary>
    public void Remove(PendingWrite write)
    {
        if (_byId.TryRemove(new KeyValuePair<string, PendingWrite>(write.Request.RequestId, write)))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
