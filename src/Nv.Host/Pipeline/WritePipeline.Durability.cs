using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Durable points: the stores commit with synchronous=NORMAL (a commit survives a process crash, not a power loss),
    // so every DurablePointInterval each is synced once, and only the positions those syncs cover move the WAL's applied
    // and audited watermarks. Truncation and purges follow the watermarks, so the WAL always still holds every record a
    // power loss could take back from a store, and boot replay (which starts from what each store holds) re-applies it.
    // A transient store failure is retried at the next tick (the watermarks just wait); a non-transient one ends the
    // loop and faults the pipeline.
    private async Task DurablePointLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.DurablePointInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            await MakeStoresDurableAsync(cancellationToken);
        }
    }

    /// <summary>One durable point of both stores; moves the WAL's watermarks to what they now cover.</summary>
    internal async Task MakeStoresDurableAsync(CancellationToken cancellationToken)
    {
        try
        {
            var applied = await _db.MakeDurableAsync(cancellationToken);
            _positions.DurableAppliedThrough(applied);
            _wal.AdvanceApplied(applied);
        }
        catch (DbWriterException ex) when (ex.IsTransient)
        {
            Log.DurablePointFailed(_logger, ex, "database");
        }

        var audited = await _audit.MakeDurableAsync(cancellationToken);
        if (audited is { } through)
        {
            _positions.DurableAuditedThrough(through);
            _wal.AdvanceAudited(through);
        }
    }
}
