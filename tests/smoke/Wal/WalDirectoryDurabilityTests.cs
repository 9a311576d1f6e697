using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Wal;

/// <summary>
/// The directories the WAL creates, and FasterLog's commit metadata, are made durable with checked fsyncs, and a failure
/// of any of them stops the WAL instead of going unnoticed. EIO is injected with strace into the fsync of one path only
/// (<c>-P</c>); skipped with the reason when strace cannot inject here.
/// </summary>
public sealed class WalDirectoryDurabilityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Creating_the_wal_directory_fsyncs_its_parent_and_a_failure_refuses_to_open()
    {
        WalIoFaultTests.SkipUnless(FaultTools.Strace);
        using var dir = new TempDirectory("walparent");
        var options = WalSmokeSettings.SmallLog(Path.Combine(dir.Path, "wal"));
        var inject = FaultTools.StraceInjectOn([dir.Path], "fsync", "EIO", 1);
        using var child = WalChildProcess.Start(WalSmokeSettings.ChildArgs(options, "p", 4, "--max-records", "10"), inject);
        await child.WaitForExitAsync(Timeout);

        // Without the parent's fsync the new directory's entry may vanish in a power cut with everything in it.
        var failed = child.Stdout.SingleOrDefault(l => l.StartsWith("OPEN-FAILED", StringComparison.Ordinal));
        Assert.True(failed is not null && child.ExitCode == 4, $"the open must fail when the parent's fsync fails\n{child.Describe()}");
        Assert.Contains("errno 5", failed, StringComparison.Ordinal);
        Assert.Contains(dir.Path, failed, StringComparison.Ordinal);
        Assert.DoesNotContain(child.Stdout, l => l.StartsWith("ACK", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_fsync_of_the_commit_metadata_directory_faults_the_wal_and_nothing_acknowledged_is_lost()
    {
        WalIoFaultTests.SkipUnless(FaultTools.Strace);
        using var dir = new TempDirectory("walmeta");
        var options = WalSmokeSettings.SmallLog(dir.Path);
        await WalIoFaultTests.CreateLogAsync(options);

        // The first metadata write of the run (its first commit) renames the new file into log-commits and fsyncs it.
        var metadata = Path.Combine(dir.Path, "log", "commits", "log-commits");
        var inject = FaultTools.StraceInjectOn([metadata], "fsync", "EIO", 1);
        var (lines, durable) = await WalIoFaultTests.RunUntilFaultAsync(options, inject, "metadata fsync EIO");
        var fault = lines.Single(l => l.StartsWith("FAULT", StringComparison.Ordinal));
        Assert.Contains("errno=5 ", fault, StringComparison.Ordinal);
        Assert.Contains(metadata, fault, StringComparison.Ordinal);
        await WalIoFaultTests.AssertRecoveredAsync(options, lines, durable, "metadata fsync EIO", requireAcks: false);
    }
}
