using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary><c>nv replay --dry-run</c> ("write nothing") and <c>nv wal stat</c> open the WAL and the stores read-only:
/// they create and change nothing, and refuse (exit 2, one line) when the store they report on is missing.</summary>
public sealed class ReadOnlyCommandsCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Fails without the read-only stores: with NV_WAL_DIR right and NV_DATA_DIR mistyped, <c>replay --dry-run</c>
    /// exited 0 after creating nv.db, audit.db, the audit signing key pair and logs/ in the mistyped directory, and
    /// <c>wal stat</c> created nv.db and logs/ there and printed "resolved through 0, unresolved records 20" for a fully
    /// applied WAL (besides appending a close commit to the WAL).</summary>
    [Theory]
    [InlineData("replay", "--dry-run")]
    [InlineData("wal", "stat")]
    public async Task On_a_mistyped_data_directory_beside_the_right_wal_it_exits_2_with_one_line_and_creates_nothing(params string[] args)
    {
        using var dir = new TempDirectory("cli-rotypo");
        var data = Path.Combine(dir.Path, "data");
        await LoadAsync(data);
        var typo = Path.Combine(dir.Path, "x", "typo");
        var before = TreeSnapshot.Take(dir.Path);

        var run = await NvProcess.RunAsync(typo, new Dictionary<string, string> { ["NV_WAL_DIR"] = Path.Combine(data, "wal") }, Timeout, args);

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr);
        Assert.StartsWith("nv: error: no database at " + Path.Combine(typo, "nv.db"), line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        var after = TreeSnapshot.Take(dir.Path);
        Assert.True(before.SequenceEqual(after), "the command changed the directory tree:\n" + TreeSnapshot.Diff(before, after));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "x")));
    }

    /// <summary>On the data directory itself both answer from the stores as they are and leave every file as it was (the
    /// audit store keeps its SQLite WAL file, so a reader goes through it and SQLite may update its shared-memory index
    /// <c>audit.db-shm</c>, which holds no data). Fails without the read-only stores: the WAL got a close commit, and the
    /// logs/ file a few lines.</summary>
    [Fact]
    public async Task On_the_data_directory_a_dry_run_and_wal_stat_answer_and_change_no_file()
    {
        using var dir = new TempDirectory("cli-rodata");
        await LoadAsync(dir.Path);
        var before = TreeSnapshot.Take(dir.Path, "audit.db-shm");

        var dryRun = await NvProcess.RunAsync(dir.Path, null, Timeout, "replay", "--dry-run", "--json");
        Assert.True(dryRun.ExitCode == 0, dryRun.Describe());
        using (var json = JsonDocument.Parse(dryRun.Stdout.Single()))
        {
            Assert.True(json.RootElement.GetProperty("dryRun").GetBoolean());
            Assert.Equal(0, json.RootElement.GetProperty("replayed").GetInt64());
        }

        var stat = await NvProcess.RunAsync(dir.Path, null, Timeout, "wal", "stat", "--json");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        using (var json = JsonDocument.Parse(string.Join('\n', stat.Stdout)))
        {
            var wal = json.RootElement.GetProperty("wal");
            Assert.Equal(20, wal.GetProperty("resolvedThroughLsn").GetInt64());
            Assert.Equal(0, wal.GetProperty("unresolved").GetInt64());
        }

        var after = TreeSnapshot.Take(dir.Path, "audit.db-shm");
        Assert.True(before.SequenceEqual(after), "a read-only command changed the data directory:\n" + TreeSnapshot.Diff(before, after));
    }

    private static async Task LoadAsync(string dataDir)
    {
        var load = await NvProcess.RunAsync(dataDir, null, Timeout, "load", "--count", "20", "--entities", "5", "--writers", "2", "--quiet", "--run-id", "ro");
        Assert.True(load.ExitCode == 0, load.Describe());
    }
}
