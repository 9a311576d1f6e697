using System.Globalization;
using Nv.Wal.IO;

namespace Nv.Wal.Recovery;

/// <summary>The on-disk geometry of a log (segment and page size), recorded when the log is created and checked at every
/// open: FasterLog addresses depend on both, so a log opened with other values would scan as garbage and be reported
/// as corruption. File <c>geometry</c>, text: <c>nv-wal-geometry/v1</c>, <c>segment-bits: N</c>, <c>page-bits: M</c>.</summary>
internal static class WalGeometry
{
    public const string FileName = "geometry";
    private const string Magic = "nv-wal-geometry/v";
    private const int Version = 1;
    private const string Header = "nv-wal-geometry/v1";

    /// <summary>Checks the recorded geometry against <paramref name="options"/>, recording it if the log has none yet (unless
    /// <paramref name="readOnly"/>: a read-only open trusts the configuration then).</summary>
    /// <exception cref="WalConfigurationException">The log was created with a different segment or page size.</exception>
    /// <exception cref="WalFormatTooNewException">The file is of a version only a newer Nv writes.</exception>
    public static void CheckOrRecord(string directory, WalOptions options, bool readOnly = false)
    {
        var path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            var (segmentBits, pageBits) = Parse(path);
            if (segmentBits != options.SegmentSizeBits || pageBits != options.PageSizeBits)
            {
                throw new WalConfigurationException(string.Create(CultureInfo.InvariantCulture,
                    $"The WAL in {directory} was created with SegmentSizeBits={segmentBits} and PageSizeBits={pageBits}, but the configuration says SegmentSizeBits={options.SegmentSizeBits} and PageSizeBits={options.PageSizeBits}. Open it with its original settings (Nv:Wal:SegmentSizeBits, Nv:Wal:PageSizeBits)."));
            }

            return;
        }

        if (readOnly)
        {
            return;
        }

        var text = string.Create(CultureInfo.InvariantCulture, $"{Header}\nsegment-bits: {options.SegmentSizeBits}\npage-bits: {options.PageSizeBits}\n");
        DurableFile.Write(path, System.Text.Encoding.ASCII.GetBytes(text));
    }

    private static (int SegmentBits, int PageBits) Parse(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length > 0 && lines[0].StartsWith(Magic, StringComparison.Ordinal)
            && int.TryParse(lines[0].AsSpan(Magic.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > Version)
        {
            // Versioning rule: every version starts with this line. A newer one is refused, never called damaged (its advice,
            // deleting the file, would let this build record its own geometry over it).
            throw new WalFormatTooNewException(path, string.Create(CultureInfo.InvariantCulture, $"WAL geometry version {version}"),
                string.Create(CultureInfo.InvariantCulture, $"WAL geometry version {Version}"));
        }

        if (lines.Length < 3 || lines[0] != Header
            || !TryValue(lines[1], "segment-bits: ", out var segmentBits) || !TryValue(lines[2], "page-bits: ", out var pageBits))
        {
            throw new WalConfigurationException($"The WAL geometry file {path} is damaged; restore it or delete it to accept the configured geometry.");
        }

        return (segmentBits, pageBits);
    }

    private static bool TryValue(string line, string prefix, out int value)
    {
        value = 0;
        return line.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(line.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
