namespace Nv.Wal.IO;

/// <summary>A checked fsync/fdatasync/open failed; carries the path and errno.</summary>
internal sealed class NativeSyncException(string message, string path, int errno) : IOException(message)
{
    public string Path { get; } = path;

    public int Errno { get; } = errno;
}
