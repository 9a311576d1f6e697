using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Wal;
using Nv.Wal;

namespace Nv.Smoke.Tests.Verify;

/// <summary>The oracle the crash and power-loss tests rely on must be able to fail: after a clean run it finds nothing,
/// and each kind of damage it exists to catch is reported: an entity changed behind Nv's back, an audit entry's content
/// changed, an applied write's audit entry gone, an acknowledged write the stores do not hold.</summary>
public sealed class IndependentOracleTests
{
    [Fact]
    public async Task The_oracle_passes_a_clean_run_and_reports_each_kind_of_damage()
    {
        FaultTools.SkipOrFailUnless(PythonVerifier.Missing);
        var ct = TestContext.Current.CancellationToken;
        var seed = TestSeeds.For(nameof(IndependentOracleTests));
        using var dir = new TempDirectory("oracle");
        var scenario = new HostScenario(dir.Path, seed);
        await scenario.CleanRunAsync("clean", 60, ct);
        var acknowledged = scenario.Log.Acknowledged();
        var context = TestSeeds.Describe(seed);

        Assert.Empty(await Check(scenario, acknowledged));
        Assert.StartsWith("OK ", PythonVerifier.Verify(scenario.DataDir).Verdict, StringComparison.Ordinal);

        var store = StoreSnapshot.Read(scenario.DataDir, HostScenario.DtoTypes);
        var live = store.Entities.First(e => !e.Value.Deleted);
        var mutation = store.Audit.First(a => a.Category == "entity-mutation" && a.Operation == "update");
        var applied = acknowledged.First(a => a.Value.Outcome == "applied" && a.Value.Lsn != mutation.Lsn);

        Execute(scenario.DataDir, "nv.db", $"UPDATE \"{live.Key.DtoType}\" SET document = '{{\"tampered\":true}}' WHERE id = '{live.Key.EntityId}'");
        Assert.Contains(await Check(scenario, acknowledged), p => p.Contains(live.Key.EntityId, StringComparison.Ordinal) && p.Contains("stored", StringComparison.Ordinal));

        // The audit store refuses updates and deletes; an attacker (or a bug) that drops the triggers is what is simulated.
        Execute(scenario.DataDir, "audit.db", "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;");
        Execute(scenario.DataDir, "audit.db", $"UPDATE audit_entries SET reason = 'rewritten' WHERE id = '{mutation.Id}'");
        Assert.Contains(await Check(scenario, acknowledged), p => p.Contains("reason is rewritten", StringComparison.Ordinal));
        Assert.StartsWith("BROKEN", PythonVerifier.Verify(scenario.DataDir).Verdict, StringComparison.Ordinal);

        Execute(scenario.DataDir, "audit.db", $"DELETE FROM audit_entries WHERE lsn = {applied.Value.Lsn}");
        Assert.Contains(await Check(scenario, acknowledged), p => p.Contains($"LSN {applied.Value.Lsn}", StringComparison.Ordinal)
            && (p.Contains("no audit entry", StringComparison.Ordinal) || p.Contains("LOST", StringComparison.Ordinal)));

        var lost = new Dictionary<string, WriteReply>(acknowledged) { [applied.Key] = applied.Value with { Lsn = 1_000_000 } };
        Assert.Contains(await Check(scenario, lost), p => p.StartsWith("LOST: " + applied.Key, StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine($"{context}: {acknowledged.Count} acknowledged; every damage reported");
    }

    private static async Task<List<string>> Check(HostScenario scenario, IReadOnlyDictionary<string, WriteReply> acknowledged)
    {
        long first;
        long last;
        await using (var wal = WriteAheadLog.Open(HostScenario.WalOptions(scenario.DataDir)))
        {
            var stats = wal.GetStatistics();
            (first, last) = (stats.FirstLsn.Value, stats.LastLsn.Value);
        }

        var store = StoreSnapshot.Read(scenario.DataDir, HostScenario.DtoTypes);
        return new IndependentOracle(HostScenario.Environment, HostScenario.Service).Check(store, scenario.Log, acknowledged, first, last);
    }

    private static void Execute(string dataDir, string file, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, file)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
