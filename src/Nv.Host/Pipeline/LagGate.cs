namespace Nv.Host.Pipeline;

/// <summary>Backpressure: admits a new write only while fewer than <see cref="PipelineOptions.MaxLagRecords"/> writes are
/// outstanding (admitted and not yet taken by the audit stage) and the oldest record waiting for the apply or the audit
/// stage has waited less than <see cref="PipelineOptions.MaxLagTime"/>; otherwise the writer waits until that drains.
/// Writes are never refused for lag.</summary>
/// <remarks>The record count is a reservation (an atomic counter taken before a write joins the queue and given back when
/// the audit stage is done with it, or when the write leaves the pipeline any other way), so the backlogs can never pass
/// <see cref="PipelineOptions.MaxLagRecords"/>, however many callers arrive at once. Backpressure is for a slow store, not
/// a failing one: while the audit store is failing (the coordinator hands entries to the backfill) the audit stage keeps
/// moving and the audit's age does not hold writes; the WAL carries the backlog until the backfill catches up.
/// The stages call <see cref="Release"/> after each step; a waiting writer also re-checks every
/// <see cref="RecheckPeriod"/>, so a change the gate is not told about (an outage starting or ending) cannot strand it.</remarks>
internal sealed class LagGate
{
    private static readonly TimeSpan RecheckPeriod = TimeSpan.FromMilliseconds(50);

    private readonly PipelinePositions _positions;
    private readonly PipelineOptions _options;
    private readonly Func<bool> _auditFailing;
    private TaskCompletionSource _drained = NewSignal();
    private long _outstanding;
    private long _waits;

    public LagGate(PipelinePositions positions, PipelineOptions options, Func<bool> auditFailing)
    {
        _positions = positions;
        _options = options;
        _auditFailing = auditFailing;
    }

    /// <summary>Writes that had to wait since start.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Writes admitted and not yet taken by the audit stage.</summary>
    public long Outstanding => Interlocked.Read(ref _outstanding);

    /// <summary>Why writes are held now, or null.</summary>
    public string? Reason => Outstanding >= _options.MaxLagRecords
        ? $"{Outstanding} writes outstanding (MaxLagRecords {_options.MaxLagRecords})"
        : AgeReason();

    /// <summary>Admits one write: completes at once when within limits, else when the backlogs drain. Every admitted
    /// write must be given back with <see cref="Exit"/> exactly once.</summary>
    public ValueTask EnterAsync(CancellationToken cancellationToken) =>
        TryEnter() ? ValueTask.CompletedTask : new ValueTask(EnterSlowAsync(cancellationToken));

    /// <summary>Gives back the reservation of one admitted write.</summary>
    public void Exit()
    {
        Interlocked.Decrement(ref _outstanding);
    }

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

    private bool TryEnter()
    {
        if (AgeReason() is not null)
        {
            return false;
        }

        if (Interlocked.Increment(ref _outstanding) <= _options.MaxLagRecords)
        {
            return true;
        }

        Interlocked.Decrement(ref _outstanding);
        return false;
    }

    private string? AgeReason()
    {
        if (_positions.ApplyLag > _options.MaxLagTime)
        {
            return $"the oldest unapplied record has waited {_positions.ApplyLag.TotalMilliseconds:F0} ms";
        }

        return !_auditFailing() && _positions.AuditLag > _options.MaxLagTime
            ? $"the oldest unaudited record has waited {_positions.AuditLag.TotalMilliseconds:F0} ms"
            : null;
    }

    private async Task EnterSlowAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waits);
        while (!TryEnter())
        {
            var signal = Volatile.Read(ref _drained);
            if (TryEnter())
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
