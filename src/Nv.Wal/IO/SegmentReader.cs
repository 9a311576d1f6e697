using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace Nv.Wal.IO;

/// <summary>Reads FasterLog's segment files (<c>{base}.{segment}</c>) by logical address, independently of FasterLog.</summary>
/// <remarks>
/// Nv validates and reads durable records straight from the files so that FasterLog's silent failure modes (short
/// scans over truncated segments, skipped records after checksum errors, unchecked in-memory tail pages) cannot hide
/// damage. Committed bytes are on disk (FasterLog writes O_SYNC), and committed ranges are never rewritten with
/// different content, so reading them while FasterLog appends is safe. Thread-safe.
/// </remarks>
internal sealed class SegmentReader : IDisposable
{
    private readonly string _basePath;
    private readonly int _segmentBits;
    private readonly ConcurrentDictionary<long, SafeFileHandle> _handles = new();

    public SegmentReader(string basePath, int segmentBits)
    {
        _basePath = basePath;
        _segmentBits = segmentBits;
    }

    public string SegmentPath(long address) => $"{_basePath}.{address >> _segmentBits}";

    /// <summary>Reads up to <c>destination.Length</c> bytes at <paramref name="address"/> (which must not cross a segment);
    /// returns how many exist on disk (0 when the segment file is missing).</summary>
    public int Read(long address, Span<byte> destination)
    {
        var segment = address >> _segmentBits;
        var offset = address & ((1L << _segmentBits) - 1);
        var handle = GetHandle(segment);
        if (handle is null)
        {
            return 0;
        }

        var total = 0;
        while (total < destination.Length)
        {
            var n = RandomAccess.Read(handle, destination[total..], offset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    /// <summary>Forgets cached handles (after segments are deleted or replaced).</summary>
    public void Reset()
    {
        foreach (var key in _handles.Keys)
        {
            if (_handles.TryRemove(key, out var h))
            {
                h.Dispose();
            }
        }
    }

    public void Dispose() => Reset();

    private SafeFileHandle? GetHandle(long segment)
    {
        if (_handles.TryGetValue(segment, out var handle))
        {
            return handle;
        }

        var path = $"{_basePath}.{segment}";
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        if (!_handles.TryAdd(segment, handle))
        {
            handle.Dispose();
            return _handles[segment];
        }

        return handle;
    }
}
