namespace Nv.Wal.Recovery;

/// <summary>Sparse LSN → log address index: every <see cref="Interval"/>th record, plus the first one.</summary>
/// <remarks>Built by recovery, extended under the append lock, trimmed by truncation. Thread-safe (one lock).</remarks>
internal sealed class LsnIndex
{
    public const int Interval = 64;

    private readonly List<long> _lsns = [];
    private readonly List<long> _addresses = [];
    private readonly Lock _lock = new();
    private int _sinceLast = Interval;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _lsns.Count;
            }
        }
    }

    /// <summary>Notes a record (must be called in LSN order).</summary>
    public void Add(long lsn, long address)
    {
        lock (_lock)
        {
            if (_sinceLast >= Interval || _lsns.Count == 0)
            {
                _lsns.Add(lsn);
                _addresses.Add(address);
                _sinceLast = 0;
            }

            _sinceLast++;
        }
    }

    /// <summary>The indexed record with the greatest LSN at or below <paramref name="lsn"/>.</summary>
    public bool TryFloor(long lsn, out long floorLsn, out long address)
    {
        lock (_lock)
        {
            var i = _lsns.BinarySearch(lsn);
            if (i < 0)
            {
                i = ~i - 1;
            }

            if (i < 0)
            {
                floorLsn = address = 0;
                return false;
            }

            floorLsn = _lsns[i];
            address = _addresses[i];
            return true;
        }
    }

    /// <summary>Drops entries below the new first record and indexes that record.</summary>
    public void TruncateBelow(long firstLsn, long firstAddress)
    {
        lock (_lock)
        {
            var i = _lsns.BinarySearch(firstLsn);
            var keepFrom = i < 0 ? ~i : i;
            _lsns.RemoveRange(0, keepFrom);
            _addresses.RemoveRange(0, keepFrom);
            if (_lsns.Count == 0 || _lsns[0] != firstLsn)
            {
                _lsns.Insert(0, firstLsn);
                _addresses.Insert(0, firstAddress);
            }
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _lsns.Clear();
            _addresses.Clear();
            _sinceLast = Interval;
        }
    }
}
