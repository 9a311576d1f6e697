using System.Globalization;
using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Verify;
using Nv.Smoke.Tests.Wal;

namespace Nv.Smoke.Tests.Crash;

/// <summary>The real <c>nv serve</c>, written to over HTTP, SIGKILLed by <c>NV_CRASH_AT</c> inside each window no other
/// test reaches: host boot (after WAL recovery, after the stores opened, after replay),
/// watermark persistence, WAL truncation and resolution purge, audit backfill, parking and unparking of system entries,
/// and checkpoint signing at stop. The configuration makes each window happen within seconds (64 KiB segments,
/// maintenance and backfill every 300 ms, a checkpoint every 20 entries). After a restart the independent oracle checks
/// every acknowledged write and the whole trail, the Python verifier the chain and checkpoints, and a second restart
/// must have nothing left to do.</summary>
/// <remarks>Seeds vary per run (printed; <c>NV_TEST_SEED</c> replays): how much is written, when, and the hit count.</remarks>
public sealed class CrashWindowTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public static TheoryData<string> Windows() =>
    [
        "boot-after-wal-open", "boot-after-stores-open", "boot-after-replay", "after-watermark-persist", "after-wal-truncate",
        "after-resolution-purge", "after-backfill-batch", "after-park", "after-unpark-append", "after-checkpoint-sign",
    ];

    [Theory]
    [MemberData(nameof(Windows))]
    public async Task A_kill_inside_the_window_loses_nothing_acknowledged(string point)
    {
        FaultTools.SkipOrFailUnless(PythonVerifier.Missing);
        var ct = TestContext.Current.CancellationToken;
        var seed = TestSeeds.For(point);
        var random = new Random(seed);
        var context = $"[{point}, {TestSeeds.Describe(seed)}]";
        TestContext.Current.TestOutputHelper?.WriteLine(context); // also for a failure that throws before the asserts below
        using var dir = new TempDirectory("window");
        var scenario = new HostScenario(dir.Path, seed);
        var env = new Dictionary<string, string> { ["Nv__Audit__BusyTimeout"] = "00:00:01" };

        // Phase A: acknowledged writes to begin with, ended by a SIGKILL in the middle of the clients' requests.
        using (var server = await StartAsync(scenario, env, ct))
        {
            await WriteUntilKilledAsync(server, scenario.Workload("a"), random.Next(30, 150), ct);
        }

        Assert.True(scenario.Log.Acknowledged().Count > 0, $"{context} nothing was acknowledged before the first kill");
        var crashed = point switch
        {
            "after-wal-truncate" or "after-resolution-purge" => await RunToCrashAsync(scenario, env, point, random.Next(1, 4), random, ct),
            "after-backfill-batch" => await BackfillToCrashAsync(scenario, env, random, ct),
            "after-park" => await BootLockedToCrashAsync(scenario, env, point, release: false, random, ct),
            "after-unpark-append" => await BootLockedToCrashAsync(scenario, env, point, release: true, random, ct),
            "after-checkpoint-sign" => await StopToCrashAsync(scenario, env, point, random, ct),
            _ => await BootToCrashAsync(scenario, env, point, ct),
        };
        Assert.True(crashed.ExitCode == NvProcess.KilledExitCode, $"{context} the window was not reached: {crashed.Description}");
        Assert.True(crashed.Lines.Any(l => l.Contains($"NV_CRASH_AT={point}", StringComparison.Ordinal)),
            $"{context} killed, but not at {point}: {crashed.Description}");

        var acknowledged = scenario.Log.Acknowledged();
        var (problems, summary) = await scenario.RestartAndCheckAsync(scenario.DataDir, acknowledged, ct, twice: true);
        var parked = Path.Combine(scenario.DataDir, Nv.Audit.Outbox.PendingAuditEntries.FolderName);
        if (Directory.Exists(parked) && Directory.GetFiles(parked).Length > 0)
        {
            problems.Add($"{Directory.GetFiles(parked).Length} parked audit entries were not stored by the restart");
        }

        Assert.True(problems.Count == 0, $"{context} after the restart:\n{string.Join('\n', problems.Take(25))}");
        TestContext.Current.TestOutputHelper?.WriteLine($"{context}: {acknowledged.Count} acknowledged; restart: {summary}");
    }

    /// <summary>How a run armed with a crash point ended (captured before the process is disposed).</summary>
    private sealed record Crashed(int ExitCode, IReadOnlyList<string> Lines, string Description)
    {
        public static Crashed Of(ChildProcess process) => new(process.ExitCode, [.. process.Stderr, .. process.Stdout], process.Describe());
    }

    private static async Task<NvServer> StartAsync(HostScenario scenario, Dictionary<string, string> env, CancellationToken ct, string? crashAt = null)
    {
        var all = HostScenario.Env(env);
        if (crashAt is not null)
        {
            all["NV_CRASH_AT"] = crashAt;
        }

        var server = await NvServer.StartAsync(scenario.DataDir, all, null, ct);
        return server;
    }

    private static async Task WriteUntilKilledAsync(NvServer server, HttpWorkload workload, int answers, CancellationToken ct)
    {
        Assert.True(await server.WaitReadyAsync(Timeout, ct), $"not ready\n{server.Process.Describe()}");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writing = workload.RunAsync(server.Client, 6, int.MaxValue, stop.Token);
        while (workload.Answered < answers && !writing.IsCompleted)
        {
            await Task.Delay(10, ct);
        }

        server.Kill();
        await stop.CancelAsync();
        await writing;
    }

    // Writes until the armed point kills the host (or the time runs out).
    private static async Task<Crashed> RunToCrashAsync(HostScenario scenario, Dictionary<string, string> env, string point, int hit,
        Random random, CancellationToken ct)
    {
        using var server = await StartAsync(scenario, env, ct, $"{point}:{hit}");
        Assert.True(await server.WaitReadyAsync(Timeout, ct), $"not ready\n{server.Process.Describe()}");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(Timeout);
        await scenario.Workload("b" + random.Next(1000).ToString(CultureInfo.InvariantCulture)).RunAsync(server.Client, 6, int.MaxValue, stop.Token);
        await server.Process.WaitForExitAsync(Timeout, ct);
        return Crashed.Of(server.Process);
    }

    // An audit outage while writes go on, then the store comes back: the backfill loop writes the missing entries.
    private static async Task<Crashed> BackfillToCrashAsync(HostScenario scenario, Dictionary<string, string> env, Random random, CancellationToken ct)
    {
        using var server = await StartAsync(scenario, env, ct, "after-backfill-batch:1");
        if (!await server.WaitReadyAsync(Timeout, ct) && server.Process.HasExited)
        {
            return Crashed.Of(server.Process); // the boot backfill of what the first kill left unaudited reached the window
        }

        Assert.True(!server.Process.HasExited, $"not ready\n{server.Process.Describe()}");
        var workload = scenario.Workload("c");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(Timeout);
        var writing = workload.RunAsync(server.Client, 4, int.MaxValue, stop.Token);
        using (new AuditStoreLock(scenario.DataDir))
        {
            // Writes are answered once applied, whatever the audit store does, so the lock is held past the audit's 1 s busy
            // timeout and until some more writes were answered, and in any case until an audit batch of records failed (its
            // WARN names a record's LSN): that failure is the gap the backfill fills. Time alone is not enough: under load
            // the only write the lock made fail could be a system entry (e.g. wal-truncated), which is parked, not backfilled.
            var target = workload.Answered + random.Next(4, 20);
            var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(1500 + random.Next(0, 1500));
            var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(30); // well before the writers stop (Timeout)
            while ((workload.Answered < target || DateTime.UtcNow < until || !RecordAuditFailed(server.Process)) && !writing.IsCompleted)
            {
                Assert.True(DateTime.UtcNow < giveUp, $"no audit batch of records failed while the audit store was locked\n{server.Process.Describe()}");
                await Task.Delay(10, ct);
            }
        }

        await writing;
        await server.Process.WaitForExitAsync(Timeout, ct);
        return Crashed.Of(server.Process);
    }

    // The WARN of an audit write that failed for WAL records (a system entry's failure is parked instead: another message).
    private static bool RecordAuditFailed(ChildProcess process) =>
        process.Stderr.Any(static l => l.Contains("the entry will be backfilled from the WAL", StringComparison.Ordinal));

    // The audit store is locked while the host boots: its service-start entry is parked on disk. With release, the lock
    // goes away once the host is ready and writing, and the backfill loop stores the parked entry.
    private static async Task<Crashed> BootLockedToCrashAsync(HostScenario scenario, Dictionary<string, string> env, string point, bool release,
        Random random, CancellationToken ct)
    {
        var held = new AuditStoreLock(scenario.DataDir);
        try
        {
            using var server = await StartAsync(scenario, env, ct, $"{point}:1");
            if (!release)
            {
                await server.Process.WaitForExitAsync(Timeout, ct);
                return Crashed.Of(server.Process);
            }

            Assert.True(await server.WaitReadyAsync(Timeout, ct), $"not ready\n{server.Process.Describe()}");
            var workload = scenario.Workload("d");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stop.CancelAfter(Timeout);
            var writing = workload.RunAsync(server.Client, 4, int.MaxValue, stop.Token);
            while (workload.Answered < random.Next(5, 40) && !writing.IsCompleted)
            {
                await Task.Delay(10, ct);
            }

            held.Dispose();
            await writing;
            await server.Process.WaitForExitAsync(Timeout, ct);
            return Crashed.Of(server.Process);
        }
        finally
        {
            held.Dispose();
        }
    }

    // Writes, then a graceful stop (SIGTERM), which signs checkpoints on its way out.
    private static async Task<Crashed> StopToCrashAsync(HostScenario scenario, Dictionary<string, string> env, string point, Random random,
        CancellationToken ct)
    {
        using var server = await StartAsync(scenario, env, ct, $"{point}:1");
        Assert.True(await server.WaitReadyAsync(Timeout, ct), $"not ready\n{server.Process.Describe()}");
        await scenario.Workload("e").RunAsync(server.Client, 4, random.Next(10, 80), ct);
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", server.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(ct);
        }

        await server.Process.WaitForExitAsync(Timeout, ct);
        return Crashed.Of(server.Process);
    }

    // Boots over the killed run's directory (recovery, boot replay of what the kill left unapplied, audit backfill) and is
    // killed at the armed boot point. (Recovery cutting a damaged tail at boot is exercised by the power-loss images.)
    private static async Task<Crashed> BootToCrashAsync(HostScenario scenario, Dictionary<string, string> env, string point, CancellationToken ct)
    {
        // Not NvServer: a boot point may kill the host before it listens.
        var all = HostScenario.Env(env);
        all["NV_CRASH_AT"] = $"{point}:1";
        all["NV_DATA_DIR"] = scenario.DataDir;
        all["NV_URLS"] = "http://127.0.0.1:0";
        using var process = ChildProcess.StartDotnet(RepoPaths.NvDll, ["serve"], all);
        await process.WaitForExitAsync(Timeout, ct);
        return Crashed.Of(process);
    }
}
