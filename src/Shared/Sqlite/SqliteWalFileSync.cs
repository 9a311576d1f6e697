using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Nv.Shared.Sqlite;

/// <summary>Syncs a SQLite database's WAL file (<c>&lt;database&gt;-wal</c>) from outside SQLite, so a durable point need
/// not hold the writer's lock while the disk works.</summary>
/// <remarks>
/// Why this is as good as a commit with <c>synchronous=FULL</c>: in WAL mode every commit writes its frames into the WAL
/// file with <c>pwrite</c> before it returns, so once a commit has returned its frames are in the kernel's page cache, and
/// an <c>fdatasync</c> of the file (on any descriptor: the sync is per inode) that starts afterwards puts them on disk. A
/// commit in progress meanwhile may be synced in part; recovery ignores frames after the last one that ends a commit and
/// matches the header's salts and checksums. Frames the WAL file no longer holds when the sync starts were copied into the
/// database file by a checkpoint, which synced that file before SQLite could reuse the WAL from its start. The file is
/// opened for each sync (it may be truncated by a checkpoint, never replaced while the store is open). The return value is
/// checked (<c>FileStream.Flush(true)</c> ignores fsync errors on Linux): a failure must stop the store, because the kernel
/// may have dropped the pages it could not write and reports that once.
/// </remarks>
internal static partial class SqliteWalFileSync
{
    /// <summary>Syncs <paramref name="databasePath"/>'s WAL file; false when it has none (nothing was committed through it).</summary>
    /// <exception cref="IOException">The sync failed (the store must stop), or the file could not be opened.</exception>
    public static bool TrySync(string databasePath)
    {
        var path = databasePath + "-wal";
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return false;
        }

        using (handle)
        {
            if (!OperatingSystem.IsLinux())
            {
                RandomAccess.FlushToDisk(handle);
                return true;
            }

            if (Fdatasync(handle) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fdatasync of '{path}' failed with errno {errno}.", errno);
            }
        }

        return true;
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(SafeFileHandle fd);
}
