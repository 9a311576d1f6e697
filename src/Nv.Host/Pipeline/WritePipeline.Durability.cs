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
        var lastSizeCheck = 0L;
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            await MakeStoresDurableAsync(cancellationToken);
            if (Environment.TickCount64 - lastSizeCheck >= 1000)
            {
                lastSizeCheck = Environment.TickCount64;
                await CheckWalSizeAsync(cancellationToken);
            }
        }
    }

    // The WAL cannot be truncated below records still waiting for their audit entry, so a long audit outage grows it. Past
    // MaxWalBytes new writes are refused (503, naming the cause) rather than filling the disk; once the audit store is
    // back (no gap), truncation is run at once instead of at the next maintenance tick, and writes resume.
    internal async Task CheckWalSizeAsync(CancellationToken cancellationToken)
    {
        if (_options.MaxWalBytes <= 0)
        {
            return;
        }

        var size = _wal.GetStatistics().SizeBytes;
        if (size > _options.MaxWalBytes && !_audit.HasGap)
        {
            await RunMaintenanceAsync(cancellationToken);
            size = _wal.GetStatistics().SizeBytes;
        }

        var full = size > _options.MaxWalBytes
            ? $"The WAL holds {size} bytes, over Nv:Pipeline:MaxWalBytes ({_options.MaxWalBytes}): it cannot be truncated while applied "
              + $"records wait for their audit entries ({(_audit.HasGap ? "the audit store is failing" : "the audit backlog is draining")}). "
              + "New writes are refused until it shrinks; nothing acknowledged is affected."
            : null;
        if (full is not null && Volatile.Read(ref _walFull) is null)
        {
            Log.WalOverLimit(_logger, size, _options.MaxWalBytes);
        }

        Volatile.Write(ref _walFull, full);
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
