using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Nv.Wal.IO;

/// <summary>Checked <c>fsync</c>/<c>fdatasync</c> for files Nv makes durable itself.</summary>
/// <remarks>
/// Failure policy: .NET 10's <c>FileStream.Flush</c> with flushToDisk returns normally when fsync fails on Linux, so it is never
/// used for durability. These calls check the return value and throw <see cref="NativeSyncException"/> with the errno;
/// callers must treat a failure as fatal for the file (never retry: the kernel may already have dropped the pages).
/// On non-Unix platforms <see cref="FileStream.Flush(bool)"/> semantics are used as a fallback.
/// </remarks>
internal static partial class NativeFileSync
{
    /// <summary>Flushes a file's data and metadata to stable storage.</summary>
    public static void Fsync(SafeFileHandle handle, string path)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        if (NativeFsync(handle) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new NativeSyncException($"fsync of '{path}' failed with errno {errno}.", path, errno);
        }
    }

    /// <summary>Flushes a file's data (and the metadata needed to read it) to stable storage.</summary>
    public static void Fdatasync(SafeFileHandle handle, string path)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!OperatingSystem.IsLinux())
        {
            Fsync(handle, path);
            return;
        }

        if (NativeFdatasync(handle) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new NativeSyncException($"fdatasync of '{path}' failed with errno {errno}.", path, errno);
        }
    }

    /// <summary>Makes a directory's entries (created, renamed or deleted files) durable.</summary>
    public static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return; // Windows: NTFS metadata is journaled; there is no directory handle fsync.
        }

        var fd = NativeOpen(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new NativeSyncException($"open of directory '{directory}' failed with errno {errno}.", directory, errno);
        }

        try
        {
            if (NativeFsyncFd(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new NativeSyncException($"fsync of directory '{directory}' failed with errno {errno}.", directory, errno);
            }
        }
        finally
        {
            _ = NativeClose(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int NativeFsync(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int NativeFsyncFd(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int NativeFdatasync(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);
}
