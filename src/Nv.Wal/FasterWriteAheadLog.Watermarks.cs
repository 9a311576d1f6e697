using Nv.Wal.Recovery;
using Nv.Wal.Watermarks;

namespace Nv.Wal;

/// <summary>Applied/audited watermarks and truncation.</summary>
/// <remarks>
/// Watermarks advance monotonically in memory and are persisted by <see cref="PersistWatermarksAsync"/>, by a
/// background loop every <see cref="WalOptions.WatermarkPersistInterval"/> when they changed, and on dispose.
/// Truncation first persists the watermarks, then cuts below the persisted values only, so a crash can never leave a
/// persisted watermark pointing below the first record held.
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
    private readonly SemaphoreSlim _persistLock = new(1, 1);
    private readonly CancellationTokenSource _timerCts = new();
    private long _applied;
    private long _audited;
    private WatermarkCheckpoint.Values _persisted;
    private Task _timerLoop = Task.CompletedTask;

    public Lsn AppliedLsn => new(Volatile.Read(ref _applied));

    public Lsn AuditedLsn => new(Volatile.Read(ref _audited));

    public void AdvanceApplied(Lsn lsn) => MonotonicField.Raise(ref _applied, lsn.Value);

    public void AdvanceAudited(Lsn lsn) => MonotonicField.Raise(ref _audited, lsn.Value);

    public void LowerWatermarks(Lsn applied, Lsn audited)
    {
        MonotonicField.Lower(ref _applied, applied.Value);
        MonotonicField.Lower(ref _audited, audited.Value);
    }

    public async ValueTask PersistWatermarksAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(State == WalState.Disposed, this);
        ThrowIfReadOnly();
        await PersistWatermarksCoreAsync(cancellationToken);
    }

    public async ValueTask<Lsn> TruncateAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        ThrowIfReadOnly();

        // One at a time: a truncation picks its cut from the durable point and the first LSN it reads, then looks the cut
        // up in the files; another truncation finishing in between moves the log's start past both (its index entries
        // and segments gone), and the lookup then failed as damage ("Cannot locate LSN ... for truncation"), faulting a
        // caller for nothing (seen in the WAL truncation crash test, whose writers all truncate).
        await _truncateGate.WaitAsync(cancellationToken);
        try
        {
            return await TruncateCoreAsync(cancellationToken);
        }
        finally
        {
            _truncateGate.Release();
        }
    }

    private async ValueTask<Lsn> TruncateCoreAsync(CancellationToken cancellationToken)
    {
        await PersistWatermarksCoreAsync(cancellationToken);
        var passed = Math.Min(_persisted.Applied.Value, _persisted.Audited.Value);
        var durable = Volatile.Read(ref _durable);

        // Keep at least the last durable record: it carries the LSN sequence across restarts. (durable.Lsn may be an LSN no
        // record has, after ContinueAfterAsync: FindRecord then stops at the last record before it.)
        var cutLsn = Math.Min(passed + 1, durable.Lsn);
        long first;
        lock (_appendLock)
        {
            first = _firstLsn;
        }

        if (first == 0 || cutLsn <= first)
        {
            return new Lsn(first);
        }

        if (BeforeCutLookup is { } hook)
        {
            await hook();
        }

        var (cutAddress, foundLsn) = FindRecord(cutLsn, durable.Address);
        cutAddress = ApplyRetention(cutAddress, ref foundLsn, durable.Address);
        if (foundLsn <= first)
        {
            return new Lsn(first);
        }

        // From here on the truncation is not cancelled: once FasterLog's begin address moved, any commit (this one, or the
        // next flush's) deletes the segments below it, and the log's start must follow. (Cancelling this commit used to
        // leave _firstLsn and the index below segments FasterLog then deleted.) Reads that find a segment gone before
        // _firstLsn moves check _truncatingTo.
        lock (_appendLock)
        {
            _truncatingTo = foundLsn;
            _truncatingAddress = cutAddress;
        }

        try
        {
            _log.TruncateUntil(cutAddress);
            await _log.CommitAsync(CancellationToken.None);
            if (_commitManager.Failure is { } metadataFailure)
            {
                throw metadataFailure; // faulted below: the new begin address may not survive a power loss
            }
        }
        catch (Exception ex)
        {
            throw Fault(ex);
        }

        if (AfterTruncationCommit is { } afterCommit)
        {
            await afterCommit();
        }

        lock (_appendLock)
        {
            _firstLsn = foundLsn;
            _firstAddress = cutAddress;
            _index.TruncateBelow(foundLsn, cutAddress);
        }

        Log.Truncated(_logger, foundLsn, cutAddress, ListSegments(_logDirectory).Count);
        return new Lsn(foundLsn);
    }

    /// <summary>Address and LSN of the first record with LSN at or above <paramref name="lsn"/>, or of the last record
    /// before <paramref name="end"/> when none is (<paramref name="lsn"/> lies in a jump: ContinueAfterAsync, or
    /// watermarks recovered past the last record).</summary>
    private (long Address, long Lsn) FindRecord(long lsn, long end)
    {
        long address;
        if (!_index.TryFloor(lsn, out _, out address))
        {
            address = _firstAddress;
        }

        using var reader = OpenSegmentReader();
        var scanner = new LogScanner(reader, _options.PageSizeBits);
        (long Address, long Lsn) last = (-1, 0);
        while (true)
        {
            var at = address;
            var step = scanner.Next(ref address, end);
            if (step == ScanStep.End && last.Address >= 0)
            {
                return last;
            }

            if (step != ScanStep.Record)
            {
                throw new WalCorruptionException($"Cannot locate LSN {lsn} for truncation ({scanner.Reason ?? "end of log"}).",
                    SegmentPath(at), at, new Lsn(lsn - 1));
            }

            if (scanner.Sequence >= lsn)
            {
                return (scanner.RecordAddress, scanner.Sequence);
            }

            last = (scanner.RecordAddress, scanner.Sequence);
        }
    }

    /// <summary>Moves the cut down to the start of the first segment still inside the retention period.</summary>
    private long ApplyRetention(long cutAddress, ref long cutLsn, long end)
    {
        if (_options.Retention <= TimeSpan.Zero)
        {
            return cutAddress;
        }

        var limit = DateTime.UtcNow - _options.Retention;
        var firstSegment = _firstAddress >> _options.SegmentSizeBits;
        for (var segment = firstSegment; segment <= cutAddress >> _options.SegmentSizeBits; segment++)
        {
            var path = $"{Path.Combine(_logDirectory, SegmentBaseName)}.{segment}";
            if (File.Exists(path) && File.GetLastWriteTimeUtc(path) > limit)
            {
                var segmentStart = Math.Max(segment << _options.SegmentSizeBits, _firstAddress);
                if (segmentStart >= cutAddress)
                {
                    break;
                }

                using var reader = OpenSegmentReader();
                var scanner = new LogScanner(reader, _options.PageSizeBits);
                var address = segmentStart;
                if (scanner.Next(ref address, end) != ScanStep.Record)
                {
                    return _firstAddress;
                }

                cutLsn = scanner.Sequence;
                return scanner.RecordAddress;
            }
        }

        return cutAddress;
    }

    private async ValueTask PersistWatermarksCoreAsync(CancellationToken cancellationToken)
    {
        await _persistLock.WaitAsync(cancellationToken);
        try
        {
            var values = new WatermarkCheckpoint.Values(AppliedLsn, AuditedLsn);
            if (values == _persisted)
            {
                return;
            }

            await Task.Run(() => WatermarkCheckpoint.Write(_directory, values), cancellationToken);
            _persisted = values;
        }
        finally
        {
            _persistLock.Release();
        }
    }

    private void StartWatermarkTimer()
    {
        var interval = _options.WatermarkPersistInterval;
        var token = _timerCts.Token;
        _timerLoop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(token))
                {
                    try
                    {
                        await PersistWatermarksCoreAsync(token);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        Log.WatermarkPersistFailed(_logger, ex);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
    }

    private async Task StopWatermarkTimerAsync()
    {
        await _timerCts.CancelAsync();
        await _timerLoop;
        _timerCts.Dispose();
    }
}
