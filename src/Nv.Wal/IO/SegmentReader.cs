using Microsoft.Win32.SafeHandles;

namespace Nv.Wal.IO;

/// <summary>Reads FasterLog's segment files (<c>{base}.{segment}</c>) by logical address, independently of FasterLog.
/// One per scan: it holds at most one open file, the segment it read last, and closes it when the scan moves to another
/// segment or is disposed.</summary>
/// <remarks>
/// Nv validates and reads durable records straight from the files so that FasterLog's silent failure modes (short
/// scans over truncated segments, skipped records after checksum errors, unchecked in-memory tail pages) cannot hide
/// damage. Committed bytes are on disk (FasterLog writes O_SYNC), and committed ranges are never rewritten with
/// different content, so reading them while FasterLog appends is safe.
/// <para>Handles live only as long as the scan that opened them: a reader shared by the log for its lifetime kept every
/// segment it ever read open, so a truncation's deleted segments kept their disk space (and their descriptors) until the
/// log closed. A truncation may delete the segment a scan holds: the scan keeps reading the bytes it opened (they never
/// change), and a segment it opens after the deletion reads as missing (0 bytes), which the log reports as truncated.</para>
/// Not thread-safe.
/// </remarks>
internal sealed class SegmentReader : IDisposable
{
    private readonly string _basePath;
    private readonly int _segmentBits;
    private long _segment = -1;
    private SafeFileHandle? _handle;

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
        var handle = Open(segment);
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

    public void Dispose() => Close();

    private SafeFileHandle? Open(long segment)
    {
        if (segment == _segment && _handle is not null)
        {
            return _handle;
        }

        Close();
        try
        {
            _handle = File.OpenHandle($"{_basePath}.{segment}", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return null; // a missing segment reads as empty
        }

        _segment = segment;
        return _handle;
    }

    private void Close()
    {
        _handle?.Dispose();
        _handle = null;
        _segment = -1;
    }
}
