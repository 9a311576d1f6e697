using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Verify;
using Nv.Smoke.Tests.Wal;

namespace Nv.Smoke.Tests.Http;

/// <summary>The real <c>nv serve</c> with every sync of one SQLite store's WAL file failing (strace injects EIO into
/// <c>fsync</c> and <c>fdatasync</c> on <c>&lt;store&gt;-wal</c> only): the store stops at its first failed sync (a
/// durable point, which syncs that file from outside SQLite, or SQLite's own sync in a background checkpoint, whichever
/// comes first) instead of reporting a position durable that the disk may have lost; after a restart without the fault,
/// every write that was answered is there with its audit entry, and the trail verifies.</summary>
public sealed class StoreSyncFaultHttpTests
{
    [Theory]
    [InlineData("nv.db")]
    [InlineData("audit.db")]
    public async Task A_failed_sync_of_a_store_s_wal_file_stops_the_store_and_loses_nothing_answered(string store)
    {
        FaultTools.SkipOrFailUnless(FaultTools.Strace);
        FaultTools.SkipOrFailUnless(PythonVerifier.Missing);
        var ct = TestContext.Current.CancellationToken;
        var seed = WalSmokeSettings.Seed();
        var log = TestContext.Current.TestOutputHelper;
        using var dir = new TempDirectory("http-storesync");
        var scenario = new HostScenario(dir.Path, seed);

        var wal = Path.Combine(scenario.DataDir, store + "-wal");
        string stopLine;
        using (var server = await NvServer.StartAsync(scenario.DataDir, HostScenario.Env(), null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"seed {seed}: not ready\n{server.Process.Describe()}");
            await scenario.Workload("pre").RunAsync(server.Client, 4, 40, ct); // both stores have written their WAL files

            // The fault starts now, in the running host (strace attaches to every thread): boot and the writes so far synced.
            using var strace = StartInjecting(server.Process.Id, wal);
            await scenario.Workload("fault").RunAsync(server.Client, 4, 300, ct);
            Assert.True(await server.Process.WaitUntilAsync(p => StopLine(p, wal) is not null, TimeSpan.FromSeconds(30), ct),
                $"seed {seed}: no failed sync of {wal} stopped the store\n{server.Process.Describe(60)}");
            stopLine = StopLine(server.Process, wal)!;
            server.Kill();
        }

        log?.WriteLine($"seed {seed} (NV_TEST_SEED={seed}): {store} stopped: {stopLine.Trim()}");
        var answered = scenario.Log.Acknowledged();
        Assert.True(answered.Count > 0, $"seed {seed}: nothing was answered while the fault was on; it proves nothing");
        log?.WriteLine($"{answered.Count} writes answered with an LSN");
        var (problems, summary) = await scenario.RestartAndCheckAsync(scenario.DataDir, answered, ct);
        Assert.True(problems.Count == 0, $"seed {seed}: {string.Join('\n', problems.Take(25))}");
        log?.WriteLine(summary);
    }

    // strace attached to a running process: every later fsync/fdatasync on the WAL file fails with EIO. Returns once the
    // host's main thread is traced (its TracerPid is set).
    private static System.Diagnostics.Process StartInjecting(int pid, string path)
    {
        var info = new System.Diagnostics.ProcessStartInfo("strace") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in (string[])["-f", "-qq", "-o", "/dev/null", "-P", path, "-e", "trace=fsync,fdatasync", "-e", "signal=none",
            "-e", "inject=fsync,fdatasync:error=EIO:when=1+", "-p", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            info.ArgumentList.Add(arg);
        }

        var strace = System.Diagnostics.Process.Start(info)!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && !File.ReadLines($"/proc/{pid}/status").Any(l => l.StartsWith("TracerPid:", StringComparison.Ordinal)
            && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[^1] != "0"))
        {
            Thread.Sleep(10);
        }

        Thread.Sleep(200); // -f attaches the other threads right after the first
        return strace;
    }

    // The line a stopped store logs: the durable point's own sync ("fdatasync of '<wal>' failed with errno 5"), or SQLite's
    // sync inside a checkpoint or commit (SQLITE_IOERR: "disk I/O error").
    private static string? StopLine(ChildProcess process, string wal) =>
        process.FindLine($"fdatasync of '{wal}' failed with errno 5") ?? process.FindLine("disk I/O error");
}
