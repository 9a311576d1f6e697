using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The read-only commands on a store of an older schema version (a data directory an earlier build wrote, which the
/// host migrates at its next start): exit 2 with one line naming the store, its version and the way forward, and the store
/// as it was (a read-only open migrates nothing).</summary>
public sealed class OlderStoreSchemaCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Fails without StoreSchemaException: each command exited 1 (verify after its progress line, so two lines).</summary>
    [Theory]
    [InlineData("audit", "query")]
    [InlineData("audit", "history", "Customer", "c1")]
    [InlineData("audit", "verify")]
    [InlineData("audit", "prove", "0190c3f5-0000-7000-8000-000000000001")]
    public async Task An_older_audit_schema_is_exit_2_with_one_line_and_the_store_as_it_was(params string[] args)
    {
        using var dir = new TempDirectory("cli-oldaudit");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--count", "10", "--entities", "5", "--writers", "2", "--quiet", "--run-id", "old");
        Assert.True(load.ExitCode == 0, load.Describe());
        var audit = Path.Combine(dir.Path, "audit.db");
        Execute(audit, "PRAGMA user_version = 4;"); // as a build of audit schema 4 left it
        var before = TreeSnapshot.Take(dir.Path, SqliteFiles);

        var run = await NvProcess.RunAsync(dir.Path, null, Timeout, args);

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr);
        Assert.StartsWith($"nv: error: The audit store {audit} has schema version 4, older than this build's 5", line, StringComparison.Ordinal);
        Assert.Contains("start the host (nv serve) or run nv replay once", line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        var after = TreeSnapshot.Take(dir.Path, SqliteFiles);
        Assert.True(before.SequenceEqual(after), "the data directory changed:\n" + TreeSnapshot.Diff(before, after));
        AssertNoData(dir.Path);
        Assert.Equal(4L, DataDirectoryScan.Scalar(audit, "PRAGMA user_version;"));
    }

    // The raw connection that set the version folded audit.db-wal into audit.db and removed it; a reader's plain read-only
    // connection then creates the empty -wal and -shm files again (README, CLI): they hold no data.
    private static readonly string[] SqliteFiles = ["audit.db-wal", "audit.db-shm"];

    private static void AssertNoData(string dataDir)
    {
        var wal = new FileInfo(Path.Combine(dataDir, "audit.db-wal"));
        Assert.True(!wal.Exists || wal.Length == 0, "audit.db-wal holds " + (wal.Exists ? wal.Length : 0) + " bytes");
    }

    internal static void Execute(string file, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
