namespace Nv.Host.Pipeline;

/// <summary>Backpressure: holds new writes while the apply or audit backlog is over <see cref="PipelineOptions.MaxLagRecords"/>
/// or <see cref="PipelineOptions.MaxLagTime"/>, and lets them go as it drains. Writes are never refused for lag.</summary>
/// <remarks>Backpressure is for a slow store, not a failing one: while the audit store is failing (the coordinator is in
/// its outage mode) the audit backlog does not hold writes; the WAL carries it until the backfill catches up.
/// The stages call <see cref="Release"/> after each step; a waiting writer also re-checks every
/// <see cref="RecheckPeriod"/>, so a change the gate is not told about (an outage starting or ending) cannot strand it.</remarks>
internal sealed class LagGate
{
    private static readonly TimeSpan RecheckPeriod = TimeSpan.FromMilliseconds(50);

    private readonly PipelinePositions _positions;
    private readonly PipelineOptions _options;
    private readonly Func<Nv.Wal.Lsn> _durable;
    private readonly Func<bool> _auditFailing;
    private TaskCompletionSource _drained = NewSignal();
    private long _waits;

    public LagGate(PipelinePositions positions, PipelineOptions options, Func<Nv.Wal.Lsn> durable, Func<bool> auditFailing)
    {
        _positions = positions;
        _options = options;
        _durable = durable;
        _auditFailing = auditFailing;
    }

    /// <summary>Writes that had to wait since start.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Why writes are held now, or null.</summary>
    public string? Reason
    {
        get
        {
            var applyBacklog = _positions.ApplyBacklog(_durable());
            if (applyBacklog > _options.MaxLagRecords || _positions.ApplyLag > _options.MaxLagTime)
            {
                return $"apply backlog {applyBacklog} records, oldest {_positions.ApplyLag.TotalMilliseconds:F0} ms";
            }

            if (!_auditFailing() && (_positions.AuditBacklog > _options.MaxLagRecords || _positions.AuditLag > _options.MaxLagTime))
            {
                return $"audit backlog {_positions.AuditBacklog} records, oldest {_positions.AuditLag.TotalMilliseconds:F0} ms";
            }

            return null;
        }
    }

    /// <summary>Completes at once when the backlogs are within limits, else when they drain.</summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken) =>
        Reason is null ? ValueTask.CompletedTask : new ValueTask(WaitSlowAsync(cancellationToken));

    /// <summary>Lets waiting writers re-check (called by the stages after progress).</summary>
    public void Release()
    {
        var signal = Volatile.Read(ref _drained);
        if (!signal.Task.IsCompleted && Reason is null)
        {
            Interlocked.CompareExchange(ref _drained, NewSignal(), signal);
            signal.TrySetResult();
        }
    }

    private async Task WaitSlowAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waits);
        while (Reason is not null)
        {
            var signal = Volatile.Read(ref _drained);
            if (Reason is null)
            {
                return;
            }

            try
            {
                await signal.Task.WaitAsync(RecheckPeriod, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Re-check: the outage state may have changed without a stage telling the gate.
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
