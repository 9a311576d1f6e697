using System.Globalization;
using Nv.Wal;

namespace Nv.Smoke.Tests.Wal;

/// <summary>Seed, sweep length and the small WAL geometry shared by the WAL smoke tests and their child process.</summary>
internal static class WalSmokeSettings
{
    /// <summary><c>NV_SMOKE_FULL=1</c> runs the longer sweep.</summary>
    public static bool Full => Environment.GetEnvironmentVariable("NV_SMOKE_FULL") == "1";

    /// <summary><c>NV_TEST_SEED</c> when set, otherwise a fresh one (always printed by the tests).</summary>
    public static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("NV_TEST_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : Random.Shared.Next();

    /// <summary>1 MiB segments and 64 KiB pages: a few seconds of appends cross segment and page boundaries.</summary>
    public static WalOptions SmallLog(string directory, int segmentBits = 20) => new()
    {
        Directory = directory,
        SegmentSizeBits = segmentBits,
        PageSizeBits = 16,
        MemorySizeBits = 20,
        MaxRecordBytes = (1 << 16) - 64,
    };

    public static string[] ChildArgs(WalOptions options, string run, int writers, params string[] extra) =>
    [
        "--dir", options.Directory, "--run", run, "--writers", writers.ToString(CultureInfo.InvariantCulture),
        "--fill", WalChildRecords.Fill.ToString(CultureInfo.InvariantCulture),
        "--segment-bits", options.SegmentSizeBits.ToString(CultureInfo.InvariantCulture),
        "--page-bits", options.PageSizeBits.ToString(CultureInfo.InvariantCulture),
        "--memory-bits", options.MemorySizeBits.ToString(CultureInfo.InvariantCulture),
        .. extra,
    ];
}
