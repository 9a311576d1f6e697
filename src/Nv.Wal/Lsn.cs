namespace Nv.Wal;

/// <summary>A log sequence number: the dense, 1-based position of a record in the write-ahead log.</summary>
/// <remarks>LSNs are assigned by the log at append, strictly increase by one, and are never reused.
/// <see cref="None"/> (0) means "no record", e.g. a watermark that has not advanced yet.</remarks>
/// <param name="Value">The sequence number; 0 means none.</param>
public readonly record struct Lsn(long Value) : IComparable<Lsn>
{
    /// <summary>The position before the first record.</summary>
    public static readonly Lsn None = new(0);

    /// <summary>The following position.</summary>
    public Lsn Next => new(Value + 1);

    /// <inheritdoc />
    public int CompareTo(Lsn other) => Value.CompareTo(other.Value);

    /// <summary>Whether <paramref name="left"/> comes before <paramref name="right"/>.</summary>
    public static bool operator <(Lsn left, Lsn right) => left.Value < right.Value;

    /// <summary>Whether <paramref name="left"/> comes after <paramref name="right"/>.</summary>
    public static bool operator >(Lsn left, Lsn right) => left.Value > right.Value;

    /// <summary>Whether <paramref name="left"/> is at or before <paramref name="right"/>.</summary>
    public static bool operator <=(Lsn left, Lsn right) => left.Value <= right.Value;

    /// <summary>Whether <paramref name="left"/> is at or after <paramref name="right"/>.</summary>
    public static bool operator >=(Lsn left, Lsn right) => left.Value >= right.Value;

    /// <summary>The later of two positions.</summary>
    public static Lsn Max(Lsn a, Lsn b) => a.Value >= b.Value ? a : b;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
