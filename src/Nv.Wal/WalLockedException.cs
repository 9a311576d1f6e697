namespace Nv.Wal;

/// <summary>Another process holds the WAL directory open; a log must have exactly one writer.</summary>
public sealed class WalLockedException : NvException
{
    /// <summary>Creates the exception.</summary>
    public WalLockedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => true;
}
