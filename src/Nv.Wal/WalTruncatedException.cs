namespace Nv.Wal;

/// <summary>A read asked for records the log no longer holds: they were truncated (or lost, and the log continues above
/// them).</summary>
/// <remarks>Thrown by <see cref="IWriteAheadLog.ReadAsync"/> when the requested LSN is below <see cref="FirstLsn"/>. The
/// caller must start from a point the log still holds, e.g. recompute its position from the stores' own LSNs.</remarks>
public sealed class WalTruncatedException : NvException
{
    /// <summary>Creates the exception.</summary>
    public WalTruncatedException(Lsn requestedLsn, Lsn firstLsn)
        : base(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"LSN {requestedLsn.Value} is no longer in the write-ahead log: the first record it holds is LSN {firstLsn.Value}. Read from LSN {firstLsn.Value} or later."))
    {
        RequestedLsn = requestedLsn;
        FirstLsn = firstLsn;
    }

    /// <summary>The LSN the read asked for.</summary>
    public Lsn RequestedLsn { get; }

    /// <summary>The first LSN the log can still return.</summary>
    public Lsn FirstLsn { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
