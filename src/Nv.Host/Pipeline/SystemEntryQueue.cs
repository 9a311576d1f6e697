using Nv.Audit;

namespace Nv.Host.Pipeline;

/// <summary>System entries (denials, start/stop, system events) waiting for the audit writer. Whoever holds the writer
/// next takes them all and stores them with one append and one durable point, so a flood of denied requests costs the
/// writer one hold per batch, not one durable point per request (ack=audited writes share that writer).</summary>
/// <remarks>Thread-safe. An entry leaves the queue only through <see cref="TakeAll"/> (then its taker completes it) or
/// <see cref="TryRemove"/> (its own caller gave up before anyone took it).</remarks>
internal sealed class SystemEntryQueue
{
    private readonly Lock _gate = new();
    private List<Waiting> _waiting = [];

    /// <summary>Queues <paramref name="entry"/>; its <see cref="Waiting.Done"/> completes once it is stored or parked.</summary>
    public Waiting Add(AuditEntry entry)
    {
        var waiting = new Waiting(entry);
        lock (_gate)
        {
            _waiting.Add(waiting);
        }

        return waiting;
    }

    /// <summary>Every queued entry, oldest first; the queue is empty after.</summary>
    public List<Waiting> TakeAll()
    {
        lock (_gate)
        {
            var all = _waiting;
            _waiting = [];
            return all;
        }
    }

    /// <summary>Removes <paramref name="waiting"/> if nobody took it yet.</summary>
    public bool TryRemove(Waiting waiting)
    {
        lock (_gate)
        {
            return _waiting.Remove(waiting);
        }
    }

    /// <summary>A queued entry and the signal its caller waits for.</summary>
    internal sealed class Waiting(AuditEntry entry)
    {
        public AuditEntry Entry { get; } = entry;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
