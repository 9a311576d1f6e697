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

    /// <summary>The symbolic name of <see cref="Errno"/> (ENOSPC, EIO, ...), or "unknown".</summary>
    public string ErrnoName => Errno switch
    {
        5 => "EIO",
        6 => "ENXIO",
        9 => "EBADF",
        12 => "ENOMEM",
        27 => "EFBIG",
        28 => "ENOSPC",
        30 => "EROFS",
        122 => "EDQUOT",
        null => "unknown",
        _ => "errno " + Errno.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>What the operator should do before restarting, for the error at hand.</summary>
    public string Advice => Errno switch
    {
        28 or 122 => "the file system holding the WAL is full (or over quota): free space there, then restart",
        30 => "the file system holding the WAL is read-only: remount it read-write (check the kernel log for why it changed), then restart",
        5 or 6 => "the device reported an I/O error: check the kernel log and the disk before restarting, and keep a copy of the WAL directory",
        _ => "restart the host; if it fails again, check the kernel log and the WAL's file system",
    };

    /// <inheritdoc />
    public override bool IsTransient => false;
}
