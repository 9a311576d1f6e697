using Nv.Wal.IO;

namespace Nv.Wal;

/// <summary>Group commit.</summary>
/// <remarks>
/// One flush loop runs at a time. Each round snapshots (last LSN, tail address) under the append lock, issues one
/// FasterLog commit covering at least that tail, waits until FasterLog's committed address covers it, and only then
/// publishes the new durable point and completes every waiter at or below it. Flushes arriving while a commit is in
/// flight join the next round, so N concurrent flushes cost about one synchronous write.
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
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
        while (true)
        {
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

                await _log.CommitAsync();
                if (_log.CommittedUntilAddress < address)
                {
                    // CommitAsync returns early when a concurrent commit already covers the tail.
                    await _log.WaitForCommitAsync(address);
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

            Log.Committed(_logger, lsn, completed);
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
