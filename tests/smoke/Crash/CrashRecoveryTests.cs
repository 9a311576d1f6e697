using System.Globalization;
using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Crash;

/// <summary>The real host, SIGKILLed by NV_CRASH_AT at each crash point under a concurrent create/update/delete
/// workload, then restarted: nothing acknowledged is lost, the database equals the WAL oracle, every applied record has
/// exactly one audit entry, and a second restart replays nothing.</summary>
/// <remarks>Seeds vary per run (printed; NV_TEST_SEED pins one); NV_SMOKE_SEEDS sets the cases per point (default 2 in
/// CI, the full sweep uses 10). The kill lands anywhere from the 10th batch to the 300th, and a run that acknowledged
/// nothing before the kill fails: it would prove nothing.</remarks>
public sealed class CrashRecoveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        var count = TestSeeds.Pinned ? 1 : int.TryParse(Environment.GetEnvironmentVariable("NV_SMOKE_SEEDS"), out var n) && n > 0 ? n : 2;
        foreach (var point in new[] { "after-wal-append", "after-wal-flush", "after-db-write", "after-audit", "mid-batch" })
        {
            for (var i = 0; i < count; i++)
            {
                data.Add(point, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Crash_then_restart_loses_nothing_acknowledged(string point, int index)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("crash");
        var seed = TestSeeds.For(point, index);
        var random = new Random(seed);
        var hit = random.Next(10, 301); // from the 10th batch (earlier batches may not be answered yet) to the 300th
        var context = $"[point {point}:{hit}, {TestSeeds.Describe(seed)}]";
        var env = new Dictionary<string, string> { ["NV_CRASH_AT"] = $"{point}:{hit}", ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke" };

        // The count only bounds the run: the armed point kills it long before.
        var load = await NvProcess.RunAsync(dir.Path, env, Timeout,
            "load", "--count", "200000", "--writers", "32", "--entities", "40", "--payload-bytes", "64",
            "--seed", seed.ToString(CultureInfo.InvariantCulture), "--run-id", "s" + seed.ToString(CultureInfo.InvariantCulture));
        Assert.True(load.ExitCode == NvProcess.KilledExitCode, $"{context} expected SIGKILL (137), got {load.Describe()}");
        var acks = Ack.Parse(load.Stdout);
        Assert.True(acks.Count > 0, $"{context} nothing was acknowledged before the kill; the run proves nothing");

        var noCrash = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke" };
        var first = await NvProcess.RunAsync(dir.Path, noCrash, Timeout, "replay", "--json");
        Assert.True(first.ExitCode == 0, $"{context} first restart failed: {first.Describe()}");

        var second = await NvProcess.RunAsync(dir.Path, noCrash, Timeout, "replay", "--json");
        Assert.True(second.ExitCode == 0, $"{context} second restart failed: {second.Describe()}");
        using var summary = JsonDocument.Parse(second.Stdout.Last(l => l.StartsWith('{')));
        Assert.True(summary.RootElement.GetProperty("replayed").GetInt64() == 0, $"{context} second restart replayed records: {second.Stdout[^1]}");
        Assert.True(summary.RootElement.GetProperty("auditBackfilled").GetInt64() == 0, $"{context} second restart backfilled audit: {second.Stdout[^1]}");

        await StoreInspector.VerifyAsync(dir.Path, acks, context, ct);
        TestContext.Current.SendDiagnosticMessage($"{context}: {acks.Count} acknowledged before the kill; first restart: {(first.Stdout.Count > 0 ? first.Stdout[^1] : "")}");
    }

    public static TheoryData<string> EncryptedCases() => new("after-wal-flush", "after-db-write", "after-audit");

    // Encryption at rest: the same crash and the same checks with NV_MASTER_KEY_FILE set, so boot replay opens sealed
    // records with keys the key store holds (created durably before any record named them), and the WAL keeps no payload
    // in plain text.
    [Theory]
    [MemberData(nameof(EncryptedCases))]
    public async Task Crash_then_restart_with_encryption_on_loses_nothing_acknowledged(string point)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("crash-enc");
        using var keys = new TempDirectory("crash-keys");
        var master = Path.Combine(keys.Path, "master.key");
        Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        const int Seed = 4242;
        var context = $"[point {point}:3, encryption on]";
        var env = new Dictionary<string, string>
        {
            ["NV_CRASH_AT"] = point + ":3", ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["NV_MASTER_KEY_FILE"] = master,
            ["Nv__Encryption__KeyPoolSize"] = "64",
        };

        var load = await NvProcess.RunAsync(dir.Path, env, Timeout,
            "load", "--count", "2000", "--writers", "32", "--entities", "200", "--payload-bytes", "200", "--seed", "4242", "--run-id", "enc");
        Assert.True(load.ExitCode == NvProcess.KilledExitCode, $"{context} expected SIGKILL (137), got {load.Describe()}");
        var acks = Ack.Parse(load.Stdout);

        env.Remove("NV_CRASH_AT");
        var first = await NvProcess.RunAsync(dir.Path, env, Timeout, "replay", "--json");
        Assert.True(first.ExitCode == 0, $"{context} first restart failed: {first.Describe()}");
        var second = await NvProcess.RunAsync(dir.Path, env, Timeout, "replay", "--json");
        Assert.True(second.ExitCode == 0, $"{context} second restart failed: {second.Describe()}");
        using var summary = JsonDocument.Parse(second.Stdout.Last(l => l.StartsWith('{')));
        Assert.True(summary.RootElement.GetProperty("replayed").GetInt64() == 0, $"{context} second restart replayed records: {second.Stdout[^1]}");

        await StoreInspector.VerifyAsync(dir.Path, acks, context, ct, master);

        // None of the workload's payloads is in the WAL segments in plain text (their field names would show).
        var segments = Directory.GetFiles(Path.Combine(dir.Path, "wal"), "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList();
        Assert.DoesNotContain(segments, bytes => bytes.AsSpan().IndexOf("\"pad\":\"xxxx"u8) >= 0 || bytes.AsSpan().IndexOf("\"writer\":"u8) >= 0);
        TestContext.Current.SendDiagnosticMessage($"{context}: {acks.Count} acknowledged before the kill (seed {Seed})");
    }

    [Fact]
    public async Task A_clean_run_leaves_nothing_to_replay()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("clean");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--count", "500", "--writers", "16", "--entities", "50", "--run-id", "clean");
        Assert.True(load.ExitCode == 0, load.Describe());
        var acks = Ack.Parse(load.Stdout);
        Assert.Equal(500, acks.Count);

        var replay = await NvProcess.RunAsync(dir.Path, null, Timeout, "replay", "--json");
        Assert.True(replay.ExitCode == 0, replay.Describe());
        using var summary = JsonDocument.Parse(replay.Stdout.Last(l => l.StartsWith('{')));
        Assert.Equal(0, summary.RootElement.GetProperty("replayed").GetInt64());
        await StoreInspector.VerifyAsync(dir.Path, acks, "[clean run]", ct);
    }
}
