using System.Globalization;
using System.Text.Json;
using Nv.Smoke.Tests.Support;
using Nv.Wal;

namespace Nv.Smoke.Tests.Crash;

/// <summary>The crash sweep with atomic batches: <c>nv load --batch-size 4</c> (batches spanning two tables, some rejected
/// on purpose) SIGKILLed by NV_CRASH_AT at every crash point of the write path, including inside the database
/// transaction half-way through a batch's items (<c>mid-batch-apply</c>), and boot replay of unresolved batches killed at
/// its own points; after restart nothing acknowledged is lost, no half batch is visible, the database equals the WAL
/// folded with the batch rules, every applied entity change has exactly one audit entry, and another restart does nothing.</summary>
/// <remarks>Seeds: NV_SMOKE_SEEDS (default 1 per point here), NV_TEST_SEED pins one.</remarks>
public sealed class BatchCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private static readonly Dictionary<string, string> Names = new() { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke" };

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        var pinned = Environment.GetEnvironmentVariable("NV_TEST_SEED");
        var count = int.TryParse(Environment.GetEnvironmentVariable("NV_SMOKE_SEEDS"), out var n) && n > 0 ? n : 1;
        foreach (var point in new[] { "after-wal-append", "after-wal-flush", "after-db-write", "after-audit", "mid-batch", "mid-batch-apply" })
        {
            for (var i = 0; i < (int.TryParse(pinned, out _) ? 1 : count); i++)
            {
                data.Add(point, int.TryParse(pinned, out var seed) ? seed : 2000 + (i * 7919) + point.Length);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Batch_traffic_killed_at_a_crash_point_leaves_no_half_batch_after_restart(string point, int seed)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("batch-crash");
        // The audit stage gathers up to 512 records a batch off the caller's path, so 600 records may make only 2 audit
        // batches: a later hit of after-audit would never come (the run would end with exit 0, proving nothing).
        var hit = point == "after-audit" ? new Random(seed).Next(1, 3) : new Random(seed).Next(2, 6);
        var context = $"[batches, point {point}:{hit}, seed {seed} (pin with NV_TEST_SEED={seed})]";
        var env = new Dictionary<string, string>(Names) { ["NV_CRASH_AT"] = $"{point}:{hit}" };

        var load = await NvProcess.RunAsync(dir.Path, env, Timeout,
            "load", "--batch-size", "4", "--count", "600", "--writers", "16", "--entities", "160", "--payload-bytes", "48",
            "--seed", seed.ToString(CultureInfo.InvariantCulture), "--run-id", "b" + seed.ToString(CultureInfo.InvariantCulture));
        Assert.True(load.ExitCode == NvProcess.KilledExitCode, $"{context} expected SIGKILL (137), got {load.Describe()}");
        var acks = Ack.Parse(load.Stdout);

        await RestartTwiceAsync(dir.Path, context);
        await BatchStoreInspector.VerifyAsync(dir.Path, acks, context, ct);
        TestContext.Current.SendDiagnosticMessage($"{context}: {acks.Count} batches acknowledged before the kill");
    }

    [Theory]
    [InlineData("replay-after-apply", 2)]
    [InlineData("replay-after-audit", 2)]
    [InlineData("mid-batch-apply", 3)]
    public async Task Boot_replay_of_batches_killed_mid_way_converges_with_no_half_batch(string point, int hit)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("batch-replay-crash");
        var context = $"[batch replay, {point}:{hit}]";
        await WriteUnresolvedBatchesAsync(Path.Combine(dir.Path, "wal"), count: 200, seed: hit + point.Length, ct);
        var small = new Dictionary<string, string>(Names) { ["Nv__Pipeline__ReplayBatchSize"] = "16" };

        var killed = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string>(small) { ["NV_CRASH_AT"] = $"{point}:{hit}" }, Timeout, "replay", "--json");
        Assert.True(killed.ExitCode == NvProcess.KilledExitCode, $"{context} expected SIGKILL (137), got {killed.Describe()}");

        await RestartTwiceAsync(dir.Path, context, small);
        await BatchStoreInspector.VerifyAsync(dir.Path, [], context, ct);
    }

    private static async Task RestartTwiceAsync(string dataDir, string context, Dictionary<string, string>? env = null)
    {
        var first = await NvProcess.RunAsync(dataDir, env ?? Names, Timeout, "replay", "--json");
        Assert.True(first.ExitCode == 0, $"{context} first restart failed: {first.Describe()}");
        var second = await NvProcess.RunAsync(dataDir, env ?? Names, Timeout, "replay", "--json");
        Assert.True(second.ExitCode == 0, $"{context} second restart failed: {second.Describe()}");
        using var summary = JsonDocument.Parse(second.Stdout.Last(l => l.StartsWith('{')));
        Assert.True(summary.RootElement.GetProperty("replayed").GetInt64() == 0, $"{context} second restart replayed records: {second.Stdout[^1]}");
        Assert.True(summary.RootElement.GetProperty("auditBackfilled").GetInt64() == 0, $"{context} second restart backfilled audit: {second.Stdout[^1]}");
    }

    // Batches of 2–5 items over 30 entities of two types, with single writes between them; many are rejected by the rules.
    private static async Task WriteUnresolvedBatchesAsync(string walDir, int count, int seed, CancellationToken ct)
    {
        var random = new Random(seed);
        await using var wal = WriteAheadLog.Open(new WalOptions { Directory = walDir });
        var last = Lsn.None;
        for (var i = 0; i < count; i++)
        {
            var size = random.Next(2, 6);
            var entities = Enumerable.Range(0, 30).OrderBy(_ => random.Next()).Take(size).ToList();
            var items = entities.Select(k =>
            {
                var operation = random.Next(10) switch { < 5 => WalOperation.Create, < 8 => WalOperation.Update, _ => WalOperation.Delete };
                var type = k % 2 == 0 ? "Item" : "ItemB";
                var id = "e" + k.ToString(CultureInfo.InvariantCulture);
                return new WalBatchItem
                {
                    Id = Guid.CreateVersion7(),
                    Operation = operation,
                    Version = 1,
                    DtoType = type,
                    EntityId = id,
                    Payload = operation == WalOperation.Delete ? default : JsonSerializer.SerializeToElement(new { i, k }),
                    ReplayKey = ReplayKey.Create("smoke", "smoke", 1, type, id),
                };
            }).ToList();
            var record = await wal.AppendAsync(new WalRecord
            {
                Id = Guid.CreateVersion7(),
                Service = "smoke",
                Version = 0,
                Timestamp = DateTimeOffset.UtcNow,
                Operation = WalOperation.Batch,
                DtoType = "",
                EntityId = "",
                Payload = default,
                ReplayKey = "",
                RequestId = "batch-replay-" + i.ToString(CultureInfo.InvariantCulture),
                Items = items,
            }, ct);
            last = record.Lsn;
        }

        await wal.FlushAsync(last, ct);
    }
}
