namespace Nv.Wal.IO;

/// <summary>Writing FasterLog's commit metadata failed (the write, its checked fsync, the rename or the directory fsync).</summary>
internal sealed class CommitMetadataWriteException : IOException
{
    public CommitMetadataWriteException(string path, Exception innerException)
        : base($"Writing FasterLog's commit metadata '{path}' failed: {innerException.Message}", innerException)
    {
        Path = path;
        Errno = innerException switch
        {
            NativeSyncException sync => sync.Errno,
            IOException { HResult: > 0 and < 4096 } io => io.HResult,
            _ => null,
        };
    }

    /// <summary>The metadata file being written.</summary>
    public string Path { get; }

    /// <summary>The operating-system error number, when known.</summary>
    public int? Errno { get; }
}
