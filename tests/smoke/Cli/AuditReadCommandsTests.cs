using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary><c>nv audit verify</c>, <c>query</c> and <c>history</c> only read: on a store written by <c>nv load</c>, every file
/// of the data directory (but nv's own log) is byte for byte what it was before each of them ran.</summary>
public sealed class AuditReadCommandsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static Task<NvRun> Nv(string dataDir, params string[] args) => NvProcess.RunAsync(dataDir, null, Timeout, args);

    /// <summary>Fails without the read-only opening of these commands: each opened the audit store to write, so its schema
    /// transaction (PRAGMA user_version) left a frame in audit.db-wal on every run, and the store's background SQLite
    /// checkpointer and Merkle signing loop ran in the tool.</summary>
    [Fact]
    public async Task Audit_verify_query_and_history_write_nothing_to_the_data_directory()
    {
        using var dir = new TempDirectory("cli-auditread");
        var load = await Nv(dir.Path, "load", "--count", "60", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "cli");
        Assert.True(load.ExitCode == 0, load.Describe());
        var entity = (string)DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"),
            "SELECT dto_type || ' ' || entity_id FROM audit_entries WHERE category = 'entity-mutation' ORDER BY sequence LIMIT 1")!;
        var before = DataDirectoryScan.Hashes(dir.Path, except: "logs");

        string[][] commands =
        [
            ["audit", "verify"],
            ["audit", "verify", "--json"],
            ["audit", "query", "--limit", "5"],
            ["audit", "history", .. entity.Split(' ')],
        ];
        foreach (var args in commands)
        {
            var run = await Nv(dir.Path, args);
            Assert.True(run.ExitCode == 0, string.Join(' ', args) + ": " + run.Describe());
            Assert.True(before.SequenceEqual(DataDirectoryScan.Hashes(dir.Path, except: "logs")),
                $"nv {string.Join(' ', args)} changed the data directory");
        }
    }
}
