using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Audit;

/// <summary>The audit store becomes unwritable (another process holds its write lock) while the real host takes
/// writes: every write still succeeds, each missing entry is a WARN, and once the store is writable again the backfill
/// leaves zero gaps and no duplicates.</summary>
public sealed class AuditOutageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Writes_succeed_while_the_audit_store_is_locked_and_the_backfill_closes_every_gap()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("audit-outage");
        var env = new Dictionary<string, string> { ["Nv__Audit__BusyTimeout"] = "00:00:01" };
        var init = await NvProcess.RunAsync(dir.Path, env, Timeout, "load", "--count", "10", "--run-id", "init");
        Assert.True(init.ExitCode == 0, init.Describe());
        var acks = Ack.Parse(init.Stdout).ToList();

        NvRun locked;
        using (var holder = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "audit.db")};Pooling=False"))
        {
            holder.Open();
            using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE;";
                begin.ExecuteNonQuery();
            }

            locked = await NvProcess.RunAsync(dir.Path, env, Timeout, "load", "--count", "300", "--writers", "8", "--entities", "60", "--run-id", "locked");
        }

        Assert.True(locked.ExitCode == 0, locked.Describe());
        var lockedAcks = Ack.Parse(locked.Stdout);
        Assert.Equal(300, lockedAcks.Count);
        Assert.DoesNotContain(lockedAcks, a => a.Status == "Pending");
        var warnings = locked.Stderr.Where(l => l.Contains("Audit write failed", StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count >= lockedAcks.Count(a => a.Status == "Applied"), $"expected a WARN per applied write, got {warnings.Count}");
        Assert.Contains(warnings, w => w.Contains("WRN", StringComparison.Ordinal) && w.Contains("Item", StringComparison.Ordinal) && w.Contains("requestId locked-", StringComparison.Ordinal));
        acks.AddRange(lockedAcks);

        var replay = await NvProcess.RunAsync(dir.Path, null, Timeout, "replay", "--json");
        Assert.True(replay.ExitCode == 0, replay.Describe());
        using var summary = JsonDocument.Parse(replay.Stdout.Last(l => l.StartsWith('{')));
        // Every applied write's entry, plus the locked run's service-start and service-stop entries: no WAL record backs
        // those, so they were parked on disk while the store was locked and stored by this backfill.
        Assert.Equal(lockedAcks.Count(a => a.Status == "Applied") + 2, summary.RootElement.GetProperty("auditBackfilled").GetInt64());
        var parked = Path.Combine(dir.Path, Nv.Audit.Outbox.PendingAuditEntries.FolderName);
        Assert.Empty(Directory.Exists(parked) ? Directory.GetFiles(parked) : []);
        using (var audit = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "audit.db")};Mode=ReadOnly;Pooling=False"))
        {
            audit.Open();
            using var lifecycle = audit.CreateCommand();
            lifecycle.CommandText = "SELECT count(*) FROM audit_entries WHERE category = 'service-start-stop'";
            Assert.Equal(4L, (long)lifecycle.ExecuteScalar()!); // start and stop of both load runs
        }

        await StoreInspector.VerifyAsync(dir.Path, acks, "[audit outage]", ct);
    }
}
