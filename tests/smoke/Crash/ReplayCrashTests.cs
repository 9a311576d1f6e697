using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;
using Nv.Wal;

namespace Nv.Smoke.Tests.Crash;

/// <summary>Boot replay SIGKILLed between its overlapped stages (after a batch's database commit, after a batch's audit
/// append), then run again: the database equals the WAL oracle, every applied record has exactly one audit entry, the
/// chain verifies, the audit store's query indexes (deferred by the replay) are all there again, and a third run has
/// nothing left to do.</summary>
/// <remarks>The WAL is written directly (unresolved records, as after a crash right after the WAL flushes), and small
/// replay batches make the kill land with batches on both sides of it.</remarks>
public sealed class ReplayCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData("replay-after-apply", 1)]
    [InlineData("replay-after-apply", 4)]
    [InlineData("replay-after-audit", 1)]
    [InlineData("replay-after-audit", 3)]
    public async Task A_replay_killed_mid_way_converges_on_the_next_run(string point, int hit)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("replay-crash");
        var context = $"[{point}:{hit}]";
        await WriteUnresolvedAsync(Path.Combine(dir.Path, "wal"), count: 300, entities: 40, seed: hit + point.Length, ct);
        // A threshold of 1: the replay appends without the audit store's query indexes, so the kill lands while they are
        // missing, and the next run must build them again.
        var batches = new Dictionary<string, string>
        {
            ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["Nv__Pipeline__ReplayBatchSize"] = "16", ["Nv__Audit__BulkIndexThreshold"] = "1",
        };

        var killed = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string>(batches) { ["NV_CRASH_AT"] = $"{point}:{hit}" }, Timeout, "replay", "--json");
        Assert.True(killed.ExitCode == NvProcess.KilledExitCode, $"{context} expected SIGKILL (137), got {killed.Describe()}");
        var afterKill = QueryIndexCount(dir.Path);
        Assert.True(afterKill == 1, $"{context} the kill did not land while the indexes were deferred: {afterKill} of 5 (only the time index stays)");

        var first = await NvProcess.RunAsync(dir.Path, batches, Timeout, "replay", "--json");
        Assert.True(first.ExitCode == 0, $"{context} replay after the kill failed: {first.Describe()}");
        using (var summary = JsonDocument.Parse(first.Stdout.Last(l => l.StartsWith('{'))))
        {
            Assert.True(summary.RootElement.GetProperty("recordsRead").GetInt64() > 0, $"{context} the kill left nothing to replay: {first.Stdout[^1]}");
        }

        var afterRerun = QueryIndexCount(dir.Path);
        Assert.True(afterRerun == 5, $"{context} the audit store's query indexes were not built again after the kill: {afterRerun} of 5");

        var second = await NvProcess.RunAsync(dir.Path, batches, Timeout, "replay", "--json");
        Assert.True(second.ExitCode == 0, $"{context} third run failed: {second.Describe()}");
        using (var summary = JsonDocument.Parse(second.Stdout.Last(l => l.StartsWith('{'))))
        {
            Assert.True(summary.RootElement.GetProperty("replayed").GetInt64() == 0, $"{context} third run replayed records: {second.Stdout[^1]}");
            Assert.True(summary.RootElement.GetProperty("auditBackfilled").GetInt64() == 0, $"{context} third run backfilled audit: {second.Stdout[^1]}");
        }

        await StoreInspector.VerifyAsync(dir.Path, [], context, ct);
    }

    private static long QueryIndexCount(string dataDir)
    {
        using var audit = new SqliteConnection($"Data Source={Path.Combine(dataDir, "audit.db")};Mode=ReadOnly;Pooling=False");
        audit.Open();
        using var command = audit.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_audit_entries_%'";
        return (long)command.ExecuteScalar()!;
    }

    // Creates, updates and deletes over a few entities (some rejected by the rules), durable and never applied.
    private static async Task WriteUnresolvedAsync(string walDir, int count, int entities, int seed, CancellationToken ct)
    {
        var random = new Random(seed);
        await using var wal = WriteAheadLog.Open(new WalOptions { Directory = walDir });
        var last = Lsn.None;
        for (var i = 0; i < count; i++)
        {
            var entity = "e" + random.Next(entities).ToString(CultureInfo.InvariantCulture);
            var operation = random.Next(10) switch
            {
                < 4 => WalOperation.Create,
                < 8 => WalOperation.Update,
                _ => WalOperation.Delete,
            };
            var record = await wal.AppendAsync(new WalRecord
            {
                Id = Guid.CreateVersion7(),
                Service = "smoke",
                Version = 1,
                Timestamp = DateTimeOffset.UtcNow,
                Operation = operation,
                DtoType = "Item",
                EntityId = entity,
                Payload = operation == WalOperation.Delete ? default : JsonSerializer.SerializeToElement(new { i, note = "n" + i.ToString(CultureInfo.InvariantCulture) }),
                ReplayKey = ReplayKey.Create("smoke", "smoke", 1, "Item", entity),
                RequestId = "replay-crash-" + i.ToString(CultureInfo.InvariantCulture),
                UserId = "u" + (i % 3).ToString(CultureInfo.InvariantCulture),
            }, ct);
            last = record.Lsn;
        }

        await wal.FlushAsync(last, ct);
    }
}
