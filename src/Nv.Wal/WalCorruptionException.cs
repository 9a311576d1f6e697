namespace Nv.Wal;

/// <summary>The log holds a damaged record before valid ones, and the recovery mode does not allow skipping it.</summary>
public sealed class WalCorruptionException : NvException
{
    /// <summary>Creates the exception.</summary>
    public WalCorruptionException(string message, string path, long fileOffset, Lsn lastGoodLsn, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        FileOffset = fileOffset;
        LastGoodLsn = lastGoodLsn;
    }

    /// <summary>The segment file holding the damage.</summary>
    public string Path { get; }

    /// <summary>Byte offset of the damaged frame within the log's address space.</summary>
    public long FileOffset { get; }

    /// <summary>The last record before the damage that validated.</summary>
    public Lsn LastGoodLsn { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
