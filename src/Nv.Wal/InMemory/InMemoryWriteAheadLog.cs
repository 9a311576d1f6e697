using System.Runtime.CompilerServices;
using Nv.Wal.Framing;

namespace Nv.Wal.InMemory;

/// <summary>An <see cref="IWriteAheadLog"/> in process memory: the in-memory mode (<c>AddNv(o =&gt; o.UseInMemory())</c>) for
/// development and unit tests of services that embed Nv.</summary>
/// <remarks>
/// <b>Not durable</b>: a "flush" only moves the durable position; everything is lost when the process ends. Otherwise it
/// keeps the log's contract: dense LSNs from 1 in append order, reads of durable records only, monotonic watermarks,
/// truncation below both watermarks (keeping the last record, as the file log does, so memory stays bounded in a long
/// run). Every record goes through the same codec as on disk (<see cref="WalRecordCodec"/>: the size limit, the batch
/// shape) and what is read back is the decoded frame, so a service tested in memory sees exactly what the file log
/// would give it. Thread-safe: one lock; appends are cheap (encoding happens outside it).
/// </remarks>
internal sealed class InMemoryWriteAheadLog : IWriteAheadLog
{
    private readonly Lock _gate = new();
    private readonly List<byte[]> _frames = [];
    private readonly int _maxBodyBytes;
    private long _first = 1; // LSN of _frames[0]
    private long _durable;
    private long _applied;
    private long _audited;
    private WalState _state = WalState.Open;

    public InMemoryWriteAheadLog(int maxRecordBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordBytes, 64);
        _maxBodyBytes = maxRecordBytes;
    }

    public WalState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public WalRecoveryReport Recovery { get; } = new() { RecordCount = 0, FirstLsn = Lsn.None, LastLsn = Lsn.None };

    public Lsn LastLsn
    {
        get
        {
            lock (_gate)
            {
                return new Lsn(_first + _frames.Count - 1);
            }
        }
    }

    public Lsn DurableLsn => new(Volatile.Read(ref _durable));

    public Lsn AppliedLsn => new(Volatile.Read(ref _applied));

    public Lsn AuditedLsn => new(Volatile.Read(ref _audited));

    public ValueTask<WalRecord> AppendAsync(WalRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        var frame = WalRecordCodec.EncodeFrame(record, _maxBodyBytes, out var crc);
        long lsn;
        lock (_gate)
        {
            ThrowIfNotOpen();
            lsn = _first + _frames.Count;
            WalFrame.Seal(frame, lsn, crc);
            _frames.Add(frame);
        }

        return ValueTask.FromResult(Decode(frame));
    }

    /// <remarks>An in-memory log starts empty in every process, so it can continue above any LSN before its first append
    /// (a store kept elsewhere ahead of it); after that only a no-op call is accepted.</remarks>
    public ValueTask ContinueAfterAsync(Lsn highestSeen, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfNotOpen();
            var last = _first + _frames.Count - 1;
            if (highestSeen.Value <= last)
            {
                return ValueTask.CompletedTask;
            }

            if (_frames.Count > 0)
            {
                throw new InvalidOperationException("ContinueAfterAsync must be called before the first append.");
            }

            _first = highestSeen.Value + 1;
            Volatile.Write(ref _durable, highestSeen.Value);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(Lsn upTo, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfNotOpen();
            var last = _first + _frames.Count - 1;
            var target = Math.Min(upTo.Value, last);
            if (target > _durable)
            {
                Volatile.Write(ref _durable, target);
            }
        }

        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<WalRecord> ReadAsync(Lsn from, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        byte[][] frames;
        long first;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_state == WalState.Disposed, this);
            if (from.Value > 0 && from.Value < _first && _frames.Count > 0)
            {
                throw new WalTruncatedException(from, new Lsn(_first)); // as IWriteAheadLog.ReadAsync says (it threw ArgumentOutOfRangeException)
            }

            first = Math.Max(from.Value, _first);
            var count = (int)Math.Max(0, _durable - first + 1);
            frames = count == 0 ? [] : [.. _frames.GetRange((int)(first - _first), count)];
        }

        await Task.Yield();
        foreach (var frame in frames)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return Decode(frame);
        }
    }

    public void AdvanceApplied(Lsn lsn) => MonotonicField.Raise(ref _applied, lsn.Value);

    public void AdvanceAudited(Lsn lsn) => MonotonicField.Raise(ref _audited, lsn.Value);

    public void LowerWatermarks(Lsn applied, Lsn audited)
    {
        MonotonicField.Lower(ref _applied, applied.Value);
        MonotonicField.Lower(ref _audited, audited.Value);
    }

    public ValueTask PersistWatermarksAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<Lsn> TruncateAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfNotOpen();
            // Keep at least the last durable record: it carries the LSN sequence, as in the file log.
            var cut = Math.Min(Math.Min(_applied, _audited) + 1, _durable);
            if (cut > _first)
            {
                _frames.RemoveRange(0, (int)(cut - _first));
                _first = cut;
            }

            return ValueTask.FromResult(new Lsn(_frames.Count == 0 ? 0 : _first));
        }
    }

    public WalStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new WalStatistics
            {
                State = _state,
                FirstLsn = new Lsn(_frames.Count == 0 ? 0 : _first),
                LastLsn = new Lsn(_first + _frames.Count - 1),
                DurableLsn = new Lsn(_durable),
                AppliedLsn = new Lsn(_applied),
                AuditedLsn = new Lsn(_audited),
                SegmentCount = 0,
                SizeBytes = _frames.Sum(static f => (long)f.Length),
            };
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _state = WalState.Disposed;
        }

        return ValueTask.CompletedTask;
    }

    private static WalRecord Decode(byte[] frame)
    {
        WalFrame.TryValidate(frame, out var sequence, out var body, out _);
        return WalRecordCodec.DecodeBody(body, sequence, WalFrame.FormatOf(frame));
    }

    private void ThrowIfNotOpen()
    {
        ObjectDisposedException.ThrowIf(_state == WalState.Disposed, this);
    }
}
