namespace Nv.Wal;

/// <summary>Lock-free moves of a watermark field in one direction only: a concurrent move the other way is never undone.</summary>
internal static class MonotonicField
{
    /// <summary>Sets <paramref name="field"/> to <paramref name="value"/> if that raises it.</summary>
    public static void Raise(ref long field, long value)
    {
        var current = Volatile.Read(ref field);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref field, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Sets <paramref name="field"/> to <paramref name="value"/> (at least 0) if that lowers it.</summary>
    public static void Lower(ref long field, long value)
    {
        var current = Volatile.Read(ref field);
        while (value < current)
        {
            var seen = Interlocked.CompareExchange(ref field, Math.Max(0, value), current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
