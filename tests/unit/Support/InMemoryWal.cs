using System.Runtime.CompilerServices;
using Nv.Wal;

namespace Nv.Unit.Tests.Support;

/// <summary>An in-memory IWriteAheadLog for unit tests of the pipeline logic above the WAL (never for durability tests).</summary>
internal sealed class InMemoryWal : IWriteAheadLog
{
    private readonly List<WalRecord> _records = [];
    private readonly Lock _gate = new();
    private Lsn _durable;
    private Lsn _applied;
    private Lsn _audited;
    private int _recordsRead;
    private long _skipped; // LSNs jumped over by ContinueAfterAsync

    /// <summary>When set, the next flush throws this and faults the log.</summary>
    public Exception? FailNextFlush { get; set; }

    /// <summary>When set, the next append throws this as it is (a bug below the pipeline, not a WAL fault).</summary>
    public Exception? ThrowOnNextAppend { get; set; }

    public WalState State { get; private set; } = WalState.Open;

    public WalRecoveryReport Recovery { get; } = new() { RecordCount = 0, FirstLsn = Lsn.None, LastLsn = Lsn.None };

    public Lsn LastLsn { get { lock (_gate) { return new Lsn(_records.Count + _skipped); } } }

    public Lsn DurableLsn { get { lock (_gate) { return _durable; } } }

    public Lsn AppliedLsn { get { lock (_gate) { return _applied; } } }

    public Lsn AuditedLsn { get { lock (_gate) { return _audited; } } }

    public IReadOnlyList<WalRecord> Records { get { lock (_gate) { return [.. _records]; } } }

    /// <summary>How many records <see cref="ReadAsync"/> has returned so far, over all readers (what they took out of the log).</summary>
    public int RecordsRead => Volatile.Read(ref _recordsRead);

    public ValueTask<WalRecord> AppendAsync(WalRecord record, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfFaulted();
            if (ThrowOnNextAppend is { } bug)
            {
                ThrowOnNextAppend = null;
                throw bug;
            }

            var stored = record with { Lsn = new Lsn(_records.Count + _skipped + 1) };
            _records.Add(stored);
            return ValueTask.FromResult(stored);
        }
    }

    /// <summary>When set, every flush waits for it first (a slow disk: appended records stay not durable meanwhile).</summary>
    public Task? FlushGate { get; set; }

    public async ValueTask FlushAsync(Lsn upTo, CancellationToken cancellationToken = default)
    {
        if (FlushGate is { } slow)
        {
            await slow.WaitAsync(cancellationToken);
        }

        lock (_gate)
        {
            ThrowIfFaulted();
            if (FailNextFlush is { } failure)
            {
                State = WalState.Faulted;
                throw new WalFaultedException("injected flush failure", "/fake/wal", 5, failure);
            }

            _durable = Lsn.Max(_durable, upTo);
        }
    }

    /// <summary>The next record gets an LSN above <paramref name="highestSeen"/> (the jump is not persisted: nothing is).</summary>
    public ValueTask ContinueAfterAsync(Lsn highestSeen, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _skipped += Math.Max(0, highestSeen.Value - (_records.Count + _skipped));
            return ValueTask.CompletedTask;
        }
    }

    public async IAsyncEnumerable<WalRecord> ReadAsync(Lsn from, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        foreach (var record in Records)
        {
            if (record.Lsn >= from && record.Lsn <= DurableLsn)
            {
                Interlocked.Increment(ref _recordsRead);
                yield return record;
            }
        }
    }

    public void AdvanceApplied(Lsn lsn)
    {
        lock (_gate)
        {
            _applied = Lsn.Max(_applied, lsn);
        }
    }

    public void AdvanceAudited(Lsn lsn)
    {
        lock (_gate)
        {
            _audited = Lsn.Max(_audited, lsn);
        }
    }

    public void LowerWatermarks(Lsn applied, Lsn audited)
    {
        lock (_gate)
        {
            _applied = applied < _applied ? applied : _applied;
            _audited = audited < _audited ? audited : _audited;
        }
    }

    public ValueTask PersistWatermarksAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<Lsn> TruncateAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(new Lsn(1));

    public WalStatistics GetStatistics() => new()
    {
        State = State,
        FirstLsn = FirstLsn,
        LastLsn = LastLsn,
        DurableLsn = DurableLsn,
        AppliedLsn = AppliedLsn,
        AuditedLsn = AuditedLsn,
        SegmentCount = 0,
        SizeBytes = SizeBytes,
    };

    /// <summary>What <see cref="GetStatistics"/> reports as the first LSN held (as if the log were truncated below it; reads
    /// still return every record).</summary>
    public Lsn FirstLsn { get; set; } = new(1);

    /// <summary>What <see cref="GetStatistics"/> reports as the log's size on disk.</summary>
    public long SizeBytes { get; set; }

    public ValueTask DisposeAsync()
    {
        State = WalState.Disposed;
        return ValueTask.CompletedTask;
    }

    private void ThrowIfFaulted()
    {
        if (State != WalState.Open)
        {
            throw new WalFaultedException("fake WAL is faulted", "/fake/wal", 5);
        }
    }
}
