using System.Diagnostics;

namespace Nv.Audit;

/// <summary>Turns a long operation's per-item counting into <see cref="AuditProgress"/> reports at a bounded rate.</summary>
/// <remarks>The hot path (<see cref="Advance"/>, once per entry) is a null check and one subtraction; the clock is read
/// every <see cref="CheckEvery"/> items only, and a report is made when the interval has passed since the last
/// one. Not thread-safe: one operation, one thread at a time (the awaits of one async operation qualify).</remarks>
internal sealed class AuditProgressReporter
{
    /// <summary>The default least time between two reports of a running phase.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Items between two reads of the clock.</summary>
    public const long CheckEvery = 1024;

    private readonly IProgress<AuditProgress>? _progress;
    private readonly long _interval;
    private AuditProgressPhase _phase;
    private long? _total;
    private string? _chain;
    private long _done;
    private long _checkedAt;
    private long _reportedAt;

    /// <param name="progress">Where the reports go; null: none (every call returns at once).</param>
    /// <param name="interval">The least time between two reports of a running phase (its start and end are always
    /// reported); zero: every <see cref="CheckEvery"/> items (tests).</param>
    public AuditProgressReporter(IProgress<AuditProgress>? progress, TimeSpan interval)
    {
        _progress = progress;
        _interval = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Whether anyone listens (callers skip the work of a total nobody reads).</summary>
    public bool IsActive => _progress is not null;

    /// <summary>Starts a phase: reports it with nothing done.</summary>
    public void Begin(AuditProgressPhase phase, long? total, string? chain = null)
    {
        if (_progress is null)
        {
            return;
        }

        _phase = phase;
        _total = total;
        _chain = chain;
        _done = 0;
        _checkedAt = 0;
        Report(0);
    }

    /// <summary>The phase has done <paramref name="done"/> items (a running count, never decreasing).</summary>
    public void Advance(long done)
    {
        if (_progress is null)
        {
            return;
        }

        _done = done;
        if (done - _checkedAt < CheckEvery)
        {
            return;
        }

        _checkedAt = done;
        if (Stopwatch.GetTimestamp() - _reportedAt >= _interval)
        {
            Report(done);
        }
    }

    /// <summary>Ends the phase: reports what it did.</summary>
    public void End(long done)
    {
        if (_progress is not null)
        {
            Report(done);
        }
    }

    /// <summary>Ends the phase with the count last given to <see cref="Advance"/>.</summary>
    public void End() => End(_done);

    private void Report(long done)
    {
        _reportedAt = Stopwatch.GetTimestamp();
        _progress!.Report(new AuditProgress(_phase, done, _total, _chain));
    }
}
