using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Wal;

/// <summary>A real full filesystem (a small tmpfs) under the WAL child: appends fail cleanly and nothing is lost.</summary>
/// <remarks>
/// FasterLog is configured without preallocation, so the segment files grow until the 4 MiB tmpfs is full and a
/// segment write fails with ENOSPC (possibly after a short write, which leaves a torn entry for recovery to cut).
/// Asserted exactly as in <see cref="WalIoFaultTests"/>: the log faults, the next append throws, nothing past the
/// frozen durable LSN was acknowledged, and a copy of the directory reopens with every acknowledged record intact and
/// nothing past what was appended. Needs root (mount); skipped with the reason otherwise.
/// </remarks>
public sealed class WalDiskFullTests
{
    [Fact]
    public async Task A_full_filesystem_fail_stops_the_log_and_the_acknowledged_records_reopen_intact()
    {
        WalIoFaultTests.SkipUnless(FaultTools.Mount);
        using var mount = TmpfsMount.Create("4m");
        FaultTools.SkipOrFailUnless(mount.Problem);

        var options = WalSmokeSettings.SmallLog(mount.Path);
        var (lines, durable) = await WalIoFaultTests.RunUntilFaultAsync(options, null, "tmpfs 4 MiB");
        var fault = lines.Single(l => l.StartsWith("FAULT", System.StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine(fault);
        Assert.Contains("errno=28 name=ENOSPC ", fault, StringComparison.Ordinal);

        // Reopen a copy on a normal filesystem: recovery may need room to cut a torn tail and rebuild.
        using var copy = new TempDirectory("walfull-copy");
        CopyDirectory(mount.Path, copy.Path);
        await WalIoFaultTests.AssertRecoveredAsync(WalSmokeSettings.SmallLog(copy.Path), lines, durable, "tmpfs 4 MiB");
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}
