using System.Collections.Concurrent;
using System.Globalization;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace Nv.Wal.IO;

/// <summary>FasterLog's storage device for Nv's segment files: one <c>O_SYNC</c> read-write handle per segment,
/// positional reads and writes on the thread pool, and the OS error of a failed write or read passed on as FasterLog's
/// error code.</summary>
/// <remarks>FASTER 2.6.5's <see cref="ManagedLocalStorageDevice"/> reports every failed I/O as error code
/// <c>uint.MaxValue</c> (it looks for the <see cref="IOException"/> one level too deep), so a full disk and a dying disk
/// looked the same in the fault Nv reports. This device does the same I/O as that one did here (files opened
/// <c>O_SYNC</c>, never <c>O_DIRECT</c>; no preallocation; existing segments found at open), and reports the errno
/// .NET puts in <see cref="Exception.HResult"/> on Unix (28 for ENOSPC, 5 for EIO). A write is acknowledged to
/// FasterLog only after <see cref="RandomAccess.Write(SafeFileHandle, ReadOnlySpan{byte}, long)"/> wrote every byte
/// through the <c>O_SYNC</c> handle; any exception fails it with no retry.</remarks>
internal sealed class SegmentFileDevice : StorageDeviceBase
{
    /// <summary>Test-only negative control, read once per process: with <c>NV_TEST_UNSAFE_WAL_NO_OSYNC=1</c> segments are
    /// opened WITHOUT <c>O_SYNC</c>, so acknowledged appends sit in the page cache and a power loss loses them. The
    /// power-loss tests set it to prove they can fail; it is deliberately undocumented for users, and announced on
    /// stderr (and logged as CRITICAL when the log opens) whenever it is set.</summary>
    internal static readonly bool UnsafeNoSync = ReadUnsafeNoSync();

    // EROFS: what a write to a read-only device fails with (none is expected: a read-only log never appends or commits).
    private const uint ReadOnlyFileSystem = 30;

    private readonly ConcurrentDictionary<int, SafeFileHandle?> _handles = new();
    private readonly bool _readOnly;
    private int _disposed;

    /// <param name="baseName">The segment files' path without the <c>.N</c> suffix.</param>
    /// <param name="readOnly">Opens existing segments for reading only and creates, writes and deletes none (a read-only WAL
    /// open): a segment that does not exist reads as empty, as one past the end of its file does.</param>
    public SegmentFileDevice(string baseName, bool readOnly = false)
        : base(baseName, 512, Devices.CAPACITY_UNSPECIFIED)
    {
        _readOnly = readOnly;
        if (!readOnly)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(baseName))!);
        }

        FindExistingSegments();
    }

    /// <summary>The error code passed to FasterLog for an exception: the errno when .NET reported one, else
    /// <c>uint.MaxValue</c>.</summary>
    internal static uint ErrorCode(Exception exception) =>
        exception is IOException { HResult: > 0 and < 4096 } io ? (uint)io.HResult : uint.MaxValue;

    public override bool Throttle() => false;

    public override unsafe void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite,
        DeviceIOCompletionCallback callback, object context)
    {
        if (_readOnly)
        {
            _ = Task.Run(() => callback(ReadOnlyFileSystem, 0, context));
            return;
        }

        HandleCapacity(segmentId);
        _ = Task.Run(() =>
        {
            uint error = 0;
            try
            {
                var source = new ReadOnlySpan<byte>((void*)sourceAddress, checked((int)numBytesToWrite));
                RandomAccess.Write(Handle(segmentId)!, source, checked((long)destinationAddress));
            }
            catch (Exception ex)
            {
                error = ErrorCode(ex);
            }

            callback(error, error == 0 ? numBytesToWrite : 0, context);
        });
    }

    public override unsafe void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength,
        DeviceIOCompletionCallback callback, object context)
    {
        _ = Task.Run(() =>
        {
            uint error = 0;
            var total = 0;
            try
            {
                var destination = new Span<byte>((void*)destinationAddress, checked((int)readLength));
                var handle = Handle(segmentId);
                while (handle is not null && total < destination.Length)
                {
                    var read = RandomAccess.Read(handle, destination[total..], checked((long)sourceAddress + total));
                    if (read == 0)
                    {
                        break; // end of file: FasterLog gets the bytes there are
                    }

                    total += read;
                }
            }
            catch (Exception ex)
            {
                error = ErrorCode(ex);
                total = 0;
            }

            callback(error, (uint)total, context);
        });
    }

    public override void RemoveSegment(int segment)
    {
        if (_readOnly)
        {
            return; // a recovered begin address past old segments deletes them on the next read-write open
        }

        if (_handles.TryRemove(segment, out var handle))
        {
            handle?.Dispose();
        }

        try
        {
            File.Delete(SegmentName(segment));
        }
        catch (IOException)
        {
            // Truncation retries on its next pass; Nv's own rotation checks what is left.
        }
    }

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    public override long GetFileSize(int segment) =>
        segmentSize > 0 ? segmentSize : Handle(segment) is { } handle ? RandomAccess.GetLength(handle) : 0;

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var handle in _handles.Values)
        {
            handle?.Dispose();
        }

        _handles.Clear();
    }

    // Null only on a read-only device, for a segment that does not exist.
    private SafeFileHandle? Handle(int segment)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        if (_handles.TryGetValue(segment, out var handle))
        {
            return handle;
        }

        // Opened under a lock: GetOrAdd may run its factory twice under contention and drop one open handle.
        lock (_handles)
        {
            return _handles.TryGetValue(segment, out handle) ? handle : _handles[segment] = Open(segment);
        }
    }

    // FileOptions.WriteThrough is O_SYNC on Linux: a write returns once its bytes (and the metadata to find them) are
    // on stable storage, which is what FasterLog's commit relies on; Nv never calls fsync on segment files.
    private SafeFileHandle? Open(int segment)
    {
        if (!_readOnly)
        {
            return File.OpenHandle(SegmentName(segment), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite,
                UnsafeNoSync ? FileOptions.None : FileOptions.WriteThrough);
        }

        try
        {
            return File.OpenHandle(SegmentName(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static bool ReadUnsafeNoSync()
    {
        if (Environment.GetEnvironmentVariable("NV_TEST_UNSAFE_WAL_NO_OSYNC") != "1")
        {
            return false;
        }

        Console.Error.WriteLine("nv: WARNING: NV_TEST_UNSAFE_WAL_NO_OSYNC=1: WAL segments are opened WITHOUT O_SYNC. "
            + "Acknowledged writes are NOT durable. This switch exists only for the power-loss tests' negative control.");
        return true;
    }

    private string SegmentName(int segment) => GetSegmentFilename(FileName, segment);

    // The segment range FasterLog recovers against: the files named <base>.<n> that exist, as a contiguous range.
    private void FindExistingSegments()
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(FileName))!;
        var prefix = Path.GetFileName(FileName) + ".";
        var ids = new List<int>();
        foreach (var path in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(path).AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }

        ids.Sort();
        var previous = -1;
        foreach (var id in ids)
        {
            if (id != previous + 1)
            {
                startSegment = id;
            }
            else
            {
                endSegment = id;
            }

            previous = id;
        }
    }
}
