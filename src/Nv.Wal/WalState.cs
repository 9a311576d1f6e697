namespace Nv.Wal;

/// <summary>Lifecycle state of the log.</summary>
public enum WalState
{
    /// <summary>Accepting appends.</summary>
    Open = 0,

    /// <summary>A write or durability call failed; every append and flush now throws <see cref="WalFaultedException"/>.</summary>
    Faulted = 1,

    /// <summary>Disposed.</summary>
    Disposed = 2,
}
