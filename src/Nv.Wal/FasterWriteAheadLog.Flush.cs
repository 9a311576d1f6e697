using System.Diagnostics;
using Nv.Wal.IO;

namespace Nv.Wal;

/// <summary>Group commit.</summary>
/// <remarks>
/// One flush loop runs at a time. Each round snapshots (last LSN, tail address) under the append lock, issues one
/// FasterLog commit covering at least that tail, waits until FasterLog's committed address covers it, and only then
/// publishes the new durable point and completes every waiter at or below it. Flushes arriving while a commit is in
/// flight join the next round, so N concurrent flushes cost about one synchronous write. Before a round the loop
/// briefly lets the writers the previous round released append again (<see cref="GatherAsync"/>), so rounds stay full.
/// Durability: a waiter completes only after FasterLog's committed address (advanced only when the log write holding
/// the commit record succeeded) covers the snapshot, and after a new segment's directory entry was fsynced.
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
    private static readonly TimeSpan MaxGather = TimeSpan.FromMicroseconds(500);
    private readonly Lock _flushLock = new();
    private readonly List<(long UpTo, TaskCompletionSource Done)> _waiters = [];
    private Task _flushLoop = Task.CompletedTask;
    private bool _flushRunning;
    private DurablePoint _durable = new(0, 0);

    /// <summary>A durable LSN and the log address where the durable region ends (an entry boundary).</summary>
    private sealed record DurablePoint(long Lsn, long Address);

    public ValueTask FlushAsync(Lsn upTo, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        ThrowIfReadOnly();
        var target = Math.Min(upTo.Value, Volatile.Read(ref _lastLsn));
        if (target <= Volatile.Read(ref _durable).Lsn)
        {
            return ValueTask.CompletedTask;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_flushLock)
        {
            ThrowIfNotOpen();
            _waiters.Add((target, done));
            if (!_flushRunning)
            {
                _flushRunning = true;
                _flushLoop = Task.Run(FlushLoopAsync, CancellationToken.None);
            }
        }

        return new ValueTask(cancellationToken.CanBeCanceled ? done.Task.WaitAsync(cancellationToken) : done.Task);
    }

    private async Task FlushLoopAsync()
    {
        var released = 0;
        while (true)
        {
            if (released > 1)
            {
                await GatherAsync(released);
            }

            lock (_flushLock)
            {
                if (_waiters.Count == 0)
                {
                    _flushRunning = false;
                    return;
                }
            }

            long lsn;
            long address;
            lock (_appendLock)
            {
                lsn = _lastLsn;
                address = _log.TailAddress;
            }

            try
            {
                var fault = Volatile.Read(ref _fault);
                if (fault is not null)
                {
                    throw fault;
                }

                await CommitAsync(address);
                if (_commitManager.Failure is { } metadataFailure)
                {
                    throw metadataFailure; // fail-stop: the commit metadata may not survive a power loss
                }

                // FasterLog never fsyncs directories: make a newly created segment file's entry durable once.
                var segment = address >> _options.SegmentSizeBits;
                if (segment > _syncedSegment)
                {
                    NativeFileSync.FsyncDirectory(_logDirectory);
                    _syncedSegment = segment;
                }
            }
            catch (Exception ex)
            {
                var fault = Fault(ex);
                FailWaiters(fault);
                continue;
            }

            PublishDurable(lsn, address);
            var completed = 0;
            lock (_flushLock)
            {
                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (_waiters[i].UpTo <= lsn)
                    {
                        _waiters[i].Done.TrySetResult();
                        _waiters.RemoveAt(i);
                        completed++;
                    }
                }
            }

            released = completed;
            Log.Committed(_logger, lsn, completed);
        }
    }

    /// <summary>Commits FasterLog's tail and returns once its committed address covers <paramref name="address"/>.</summary>
    /// <remarks>
    /// The commit callback runs on FasterLog's commit worker right after it set the committed address (in fast-commit
    /// mode, once the log write holding the commit record completed), and this method continues inline there: one
    /// thread-pool hop less per round than awaiting <c>CommitAsync</c>, whose task completes after the commit
    /// metadata step. A failed commit never calls the callback; FasterLog faults its commit task instead, which
    /// <c>WaitForCommitAsync</c> rethrows.
    /// </remarks>
    private async ValueTask CommitAsync(long address)
    {
        var committed = new TaskCompletionSource();
        if (_log.CommitStrongly(out var commitTail, out var commitNum, spinWait: false, cookie: null, proposedCommitNum: -1,
                callback: () => committed.TrySetResult()))
        {
            var failed = _log.WaitForCommitAsync(commitTail, commitNum).AsTask();
            if (await Task.WhenAny(committed.Task, failed) == failed || failed.IsFaulted)
            {
                await failed;
            }
            else
            {
                _ = failed.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }

        if (_log.CommittedUntilAddress < address)
        {
            // Nothing new to commit: a concurrent commit already covers (or will cover) the tail.
            await _log.WaitForCommitAsync(address);
        }
    }

    /// <summary>Lets the writers a commit just released append and flush again before the next commit is issued.</summary>
    /// <remarks>
    /// Without this the next commit starts the moment the previous one completes, before the released writers ran:
    /// it carries one or two records, and everybody else waits a whole extra commit (rounds alternate tiny/full and
    /// throughput halves). The loop yields to the thread pool while new flush requests keep arriving, until as many
    /// are waiting as were just released, arrivals stop for two yields in a row, or <see cref="MaxGather"/> passed.
    /// Nothing is delayed when a single writer flushes, and durability is unaffected (only when a commit starts).
    /// </remarks>
    private async ValueTask GatherAsync(int expected)
    {
        var start = Stopwatch.GetTimestamp();
        var seen = WaiterCount();
        var idle = 0;
        while (seen < expected && idle < 2 && Stopwatch.GetElapsedTime(start) < MaxGather)
        {
            await Task.Yield();
            var now = WaiterCount();
            idle = now == seen ? idle + 1 : 0;
            seen = now;
        }
    }

    private int WaiterCount()
    {
        lock (_flushLock)
        {
            return _waiters.Count;
        }
    }

    private void PublishDurable(long lsn, long address)
    {
        while (true)
        {
            var current = Volatile.Read(ref _durable);
            if (current.Lsn >= lsn && current.Address >= address)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _durable, new DurablePoint(Math.Max(lsn, current.Lsn), Math.Max(address, current.Address)), current) == current)
            {
                return;
            }
        }
    }

    private void FailWaiters(Exception fault)
    {
        lock (_flushLock)
        {
            foreach (var (_, done) in _waiters)
            {
                done.TrySetException(fault);
            }

            _waiters.Clear();
        }
    }

    private async Task DrainFlushLoopAsync()
    {
        Task loop;
        lock (_flushLock)
        {
            loop = _flushLoop;
        }

        await loop;
        FailWaiters(_fault ?? (Exception)new ObjectDisposedException(nameof(FasterWriteAheadLog)));
    }
}
