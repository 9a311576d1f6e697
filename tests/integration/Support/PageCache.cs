using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Nv.Integration.Tests.Support;

/// <summary>How many pages of a file the page cache holds dirty (written, neither synced nor written back yet), through
/// Linux's <c>cachestat</c> system call (6.5 and later). A sync of the file leaves none; a write that was not synced leaves
/// some for up to <c>vm.dirty_expire_centisecs</c> (30 s by default), so a test can tell whether a sync covered a write.</summary>
internal static partial class PageCache
{
    private const long Cachestat = 451; // the same number on x86_64 and arm64 (the generic syscall table)

    /// <summary>Why dirty pages cannot be observed here (<c>cachestat</c> missing or refused, or a filesystem whose sync
    /// does not clean pages, such as tmpfs), or null when they can: checked once with a probe file in
    /// <paramref name="directory"/> (written: dirty pages; synced: none).</summary>
    public static string? Unobservable(string directory)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return $"cachestat is a Linux system call (number {Cachestat} on x86_64 and arm64); this is {RuntimeInformation.OSDescription} on {RuntimeInformation.ProcessArchitecture}";
        }

        Directory.CreateDirectory(directory);
        var probe = Path.Combine(directory, "page-cache-probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var file = new FileStream(probe, FileMode.CreateNew, FileAccess.ReadWrite);
            file.Write(new byte[16 * 1024]);
            file.Flush(flushToDisk: false);
            if (Query(file.SafeFileHandle, out var written) is { } errno)
            {
                return errno == 38
                    ? $"the kernel has no cachestat system call (ENOSYS; Linux 6.5 added it, this is {RuntimeInformation.OSDescription})"
                    : $"cachestat failed with errno {errno} (a seccomp filter may refuse it)";
            }

            file.Flush(flushToDisk: true);
            Query(file.SafeFileHandle, out var synced);
            return written.Dirty > 0 && synced.Dirty == 0
                ? null
                : $"the page cache of {directory} does not show writes as dirty until they are synced ({written.Dirty} dirty pages after a write, {synced.Dirty} after its fsync)";
        }
        finally
        {
            File.Delete(probe);
        }
    }

    /// <summary>The dirty pages of the page cache of <paramref name="path"/>, opened read-only (which dirties nothing).</summary>
    public static long DirtyPages(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (Query(handle, out var stat) is { } errno)
        {
            throw new IOException($"cachestat of {path} failed with errno {errno}");
        }

        return (long)(stat.Dirty + stat.Writeback); // pages under write-back are not on the disk yet either
    }

    private static int? Query(SafeFileHandle handle, out CachestatResult stat)
    {
        var range = default(CachestatRange); // offset 0, length 0: the whole file
        return Syscall(Cachestat, handle, ref range, out stat, 0) == 0 ? null : Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, SafeFileHandle fd, ref CachestatRange range, out CachestatResult stat, ulong flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct CachestatRange
    {
        public ulong Offset;
        public ulong Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CachestatResult
    {
        public ulong Cache;
        public ulong Dirty;
        public ulong Writeback;
        public ulong Evicted;
        public ulong RecentlyEvicted;
    }
}
