namespace Nv.Host.Http;

/// <summary>A count of things running at once against a maximum: a slot is taken before the work starts and given back
/// when it ends, and a caller that finds every slot taken is refused at once instead of queued. Thread-safe.</summary>
internal sealed class ConcurrencySlots
{
    private int _taken;

    public ConcurrencySlots(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        Max = max;
    }

    public int Max { get; }

    public int Taken => Volatile.Read(ref _taken);

    /// <summary>Takes a slot; false when all <see cref="Max"/> are taken. A true answer must be matched by one
    /// <see cref="Exit"/>.</summary>
    public bool TryEnter()
    {
        for (var taken = Volatile.Read(ref _taken); taken < Max; taken = Volatile.Read(ref _taken))
        {
            if (Interlocked.CompareExchange(ref _taken, taken + 1, taken) == taken)
            {
                return true;
            }
        }

        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _taken);
}
