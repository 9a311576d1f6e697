namespace Nv.Wal.IO;

/// <summary>Writes a whole small file so that, once this returns, it survives a crash or power cut with either its old
/// content or the new one: a temp file next to it, a checked fsync, a rename, then a checked fsync of the directory (a
/// directory it has to create is made durable in its parent first, <see cref="DurableDirectory"/>).</summary>
/// <remarks>Failure policy: any error (including an fsync that fails, <see cref="NativeSyncException"/>) is thrown and
/// the file must not be considered written. The temp file is deleted when the write or the rename fails (a leftover
/// <c>*.tmp</c>, from a crash, is overwritten by the next attempt).
/// Public because the other Nv libraries make their own small files durable with it (audit signing keys, parked audit
/// entries), and so can a service.</remarks>
public static class DurableFile
{
    /// <summary>Writes <paramref name="bytes"/> as the whole content of <paramref name="path"/>, durably (see the class).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="bytes">Its whole content.</param>
    /// <param name="overwrite">False: an existing file is an error (<see cref="IOException"/>) and stays untouched.</param>
    /// <param name="mode">Unix permissions of a new file (ignored on Windows); null for the process default.</param>
    /// <exception cref="IOException">The file could not be written or made durable (a failed fsync included), or it exists
    /// and <paramref name="overwrite"/> is false.</exception>
    public static void Write(string path, ReadOnlySpan<byte> bytes, bool overwrite = true, UnixFileMode? mode = null)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        DurableDirectory.Create(directory);
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (mode is { } unixMode && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = unixMode;
        }

        var opened = false;
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                opened = true;
                stream.Write(bytes);
                stream.Flush();
                NativeFileSync.Fsync(stream.SafeFileHandle, temp);
            }

            File.Move(temp, path, overwrite);
        }
        catch
        {
            // A failed write leaves no temp file behind: it may hold a secret (a new master key whose rename failed because
            // the path is taken) that no one would know to delete. Only a temp file this call opened: one it could not open
            // may be another writer's, still being written.
            if (opened)
            {
                TryDelete(temp);
            }

            throw;
        }

        NativeFileSync.FsyncDirectory(directory);
    }

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The write's own error is the one to report.
        }
    }

    /// <summary>For a file too large to write at once (an audit archive): flushes <paramref name="stream"/> and makes its
    /// content durable with a checked fsync. Rename it into place and call <see cref="SyncDirectory"/> afterwards.</summary>
    /// <exception cref="IOException">The flush or the fsync failed: the content must not be considered durable.</exception>
    public static void Sync(FileStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Flush();
        NativeFileSync.Fsync(stream.SafeFileHandle, stream.Name);
    }

    /// <summary>Creates <paramref name="directory"/> (and missing parents) durably, or makes an existing one's entries
    /// (a file created or renamed in it) durable: a checked fsync of the directory.</summary>
    /// <exception cref="IOException">A create or an fsync failed.</exception>
    public static void SyncDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        DurableDirectory.Create(directory);
        NativeFileSync.FsyncDirectory(Path.GetFullPath(directory));
    }
}
