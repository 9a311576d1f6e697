using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Verify;
using Nv.Smoke.Tests.Wal;

namespace Nv.Smoke.Tests.Http;

/// <summary>The real <c>nv serve</c> with every sync of one SQLite store's WAL file failing from some point on (strace,
/// attached to the running host, injects EIO into <c>fsync</c> and <c>fdatasync</c> on <c>&lt;store&gt;-wal</c> only): the
/// store stops at its first failed sync (a durable point's <c>synchronous=FULL</c> commit, or the entity store's background
/// checkpoint) instead of reporting a position durable that the disk may have lost: without its audit store Nv goes on
/// writing, without its entity store it stops (fail-stop, exit 70); after a restart without the fault every write that was
/// answered is there with its audit entry, and the trail verifies.</summary>
/// <remarks>What this cannot show: a loss. After a SIGKILL without a power loss the page cache still holds every page, and
/// strace fails the call without touching the kernel's error state; the power-loss images (<c>HostPowerLossTests</c>)
/// cover what a sync that did not happen would lose.</remarks>
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
        bool exited;
        long lastPreLsn;
        using (var server = await NvServer.StartAsync(scenario.DataDir, HostScenario.Env(), null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"seed {seed}: not ready\n{server.Process.Describe()}");
            await scenario.Workload("pre").RunAsync(server.Client, 4, 40, ct); // both stores have written their WAL files
            lastPreLsn = scenario.Log.Acknowledged().Values.Max(r => r.Lsn) ?? 0;

            // The fault starts now, in the running host (strace attaches to every thread): boot and the writes so far synced.
            // One more write gives the store something to sync at its next durable point, which fails: the store has
            // stopped before the fault workload starts, so every write of that workload comes after the stop. (Writes
            // committed between the attach and the failed sync are answered as applied, rightly: a store's commit is not
            // synced, the WAL's is; an earlier version of this test counted them as after the fault, and failed when one
            // came in time.)
            using var strace = StartInjecting(server.Process.Id, wal);
            await scenario.Workload("probe").RunAsync(server.Client, 1, 1, ct);
            Assert.True(await server.Process.WaitUntilAsync(p => StopLine(p, wal) is not null, TimeSpan.FromSeconds(30), ct),
                $"seed {seed}: no failed sync of {wal} stopped the store\n{server.Process.Describe(60)}");
            stopLine = StopLine(server.Process, wal)!;
            lastPreLsn = scenario.Log.Acknowledged().Values.Max(r => r.Lsn) ?? 0;
            await scenario.Workload("fault").RunAsync(server.Client, 4, 300, ct);
            exited = store == "audit.db" ? server.Process.HasExited : await server.Process.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(10), ct);
            log?.WriteLine(exited ? $"nv serve exited ({server.Process.ExitCode})" : "nv serve kept running");
            server.Kill();
        }

        log?.WriteLine($"seed {seed} (NV_TEST_SEED={seed}): {store} stopped: {stopLine.Trim()}");
        var answered = scenario.Log.Acknowledged();
        var faultReplies = scenario.Log.Replies.Where(r => r.Key.StartsWith("fault", StringComparison.Ordinal)).Select(r => r.Value).ToList();
        var statuses = string.Join(", ", faultReplies.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"));
        log?.WriteLine($"{answered.Count} writes answered with an LSN; while the fault was on: {statuses}");
        if (store == "audit.db")
        {
            // The audit trail is off the write path: writes go on while its store is stopped.
            Assert.True(faultReplies.Any(r => r.Outcome == "applied"), $"seed {seed}: no write was applied while the audit store was stopped ({statuses})");
        }
        else
        {
            // The entity store is the write path's second stage: once it stopped, Nv stops (fail-stop), so no write
            // after the failed sync is answered as applied.
            Assert.True(exited, $"seed {seed}: nv serve kept running with its entity store stopped ({statuses})");
            Assert.DoesNotContain(faultReplies, r => r.Outcome == "applied" && r.Lsn > lastPreLsn);
        }

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
        while (!Traced(pid))
        {
            if (strace.HasExited || DateTime.UtcNow > deadline)
            {
                // Attaching to a process that is not strace's child needs ptrace rights (root, or ptrace_scope 0).
                var why = strace.HasExited ? strace.StandardError.ReadToEnd().Trim() : "no tracer after 10 s";
                FaultTools.SkipOrFailUnless($"strace could not attach to the running host: {why}");
            }

            Thread.Sleep(10);
        }

        Thread.Sleep(200); // -f attaches the other threads right after the first
        return strace;
    }

    private static bool Traced(int pid) => File.ReadLines($"/proc/{pid}/status").Any(l => l.StartsWith("TracerPid:", StringComparison.Ordinal)
        && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[^1] != "0");

    // The line a stopped store logs: the entity store names SQLite's I/O error (class IoError, code 10) in its stop, the
    // audit store logs that it stopped after a failed sync.
    private static string? StopLine(ChildProcess process, string wal) => wal.EndsWith("audit.db-wal", StringComparison.Ordinal)
        ? process.FindLine("stopped after a failed sync")
        : process.FindLine("IoError");
}
