namespace Nv.Wal.IO;

/// <summary>Creates directories that survive a crash: every directory this creates is followed by a checked fsync of its
/// parent, whose entry for it would otherwise live only in the page cache.</summary>
/// <remarks>Failure policy: a failed fsync throws <see cref="NativeSyncException"/> and the directory must not be relied
/// on (it may exist now and be gone after a power cut). Existing directories are left alone (no fsync).</remarks>
internal static class DurableDirectory
{
    /// <summary>Creates <paramref name="path"/> and any missing parents, each made durable in its parent.</summary>
    public static void Create(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return;
        }

        var parent = Path.GetDirectoryName(full);
        if (parent is not null)
        {
            Create(parent);
        }

        Directory.CreateDirectory(full);
        if (parent is not null)
        {
            NativeFileSync.FsyncDirectory(parent);
        }
    }
}
