namespace Nv.Wal;

/// <summary>The log hit a write or durability error and is fail-stopped: nothing is acknowledged any more.</summary>
/// <remarks>No fsync is ever retried after a failure (the kernel may have dropped the dirty pages); the process
/// must be restarted, and recovery decides what survived.</remarks>
public sealed class WalFaultedException : NvException
{
    /// <summary>Creates the exception.</summary>
    public WalFaultedException(string message, string? path = null, int? errno = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        Errno = errno;
    }

    /// <summary>The file whose write or sync failed, when known.</summary>
    public string? Path { get; }

    /// <summary>The operating-system error number, when known.</summary>
    public int? Errno { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
