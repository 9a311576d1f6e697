using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary><c>nv wal stat|dump|verify</c> open the WAL read-only: recovery runs in memory and nothing in the WAL
/// directory is created, changed or deleted, even when recovery finds a damaged tail a read-write open would cut.</summary>
public sealed class WalReadOnlyCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static Task<NvRun> Nv(string dataDir, params string[] args) => NvProcess.RunAsync(dataDir, null, Timeout, args);

    /// <summary>Fails without WalOptions.ReadOnly in the wal commands: each run appended an <c>nv-wal-close</c> strong commit
    /// to nv.log.0 and wrote a new commit metadata file (log/commits/log-commits/commit.N.0), although <c>wal verify</c>
    /// "repairs nothing".</summary>
    [Theory]
    [InlineData("stat", "--json")]
    [InlineData("dump", "--json")]
    [InlineData("verify", "--json")]
    public async Task A_wal_command_leaves_every_file_of_the_wal_directory_as_it_was(params string[] args)
    {
        using var dir = new TempDirectory("cli-walro");
        await LoadAsync(dir.Path);
        var wal = Path.Combine(dir.Path, "wal");
        var before = TreeSnapshot.Take(wal);

        for (var run = 0; run < 2; run++)
        {
            var result = await Nv(dir.Path, ["wal", .. args]);
            Assert.True(result.ExitCode == 0, result.Describe());
            var after = TreeSnapshot.Take(wal);
            Assert.True(before.SequenceEqual(after), $"nv wal {args[0]} changed the WAL directory:\n{TreeSnapshot.Diff(before, after)}");
        }
    }

    /// <summary>A torn tail (bytes after the last entry no commit covers) is what a read-write open cuts and saves aside:
    /// read-only, <c>wal stat</c> reports it and serves the records before it, <c>wal verify</c> reports it as damage
    /// (exit 5), and neither writes a <c>*.broken</c> file or cuts anything; the next read-write open (<c>nv replay</c>)
    /// still finds the tail and cuts it. Fails without the read-only recovery: stat cut the tail itself.</summary>
    [Fact]
    public async Task A_damaged_tail_is_reported_by_the_read_only_commands_and_cut_only_by_a_read_write_open()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("cli-walrotail");
        await LoadAsync(dir.Path);
        var wal = Path.Combine(dir.Path, "wal");
        var segment = Path.Combine(wal, "log", "nv.log.0");
        var bytes = await File.ReadAllBytesAsync(segment, ct);
        var end = Array.FindLastIndex(bytes, b => b != 0) + 1;
        // A sector of non-zero bytes 1 KiB past the last entry: a write that never completed (no commit covers it).
        var torn = new byte[Math.Max(bytes.Length, end + 1024 + 512)];
        bytes.CopyTo(torn, 0);
        Array.Fill(torn, (byte)0xA5, end + 1024, 512);
        await File.WriteAllBytesAsync(segment, torn, ct);
        var before = TreeSnapshot.Take(wal);

        var stat = await Nv(dir.Path, "wal", "stat", "--json");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        long wouldCut;
        using (var json = JsonDocument.Parse(string.Join('\n', stat.Stdout)))
        {
            Assert.Equal(40, json.RootElement.GetProperty("wal").GetProperty("lastLsn").GetInt64());
            var recovery = json.RootElement.GetProperty("recovery");
            Assert.Contains("would cut", recovery.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.True(recovery.GetProperty("brokenTailPath").ValueKind == JsonValueKind.Null);
            wouldCut = recovery.GetProperty("tailBytesCut").GetInt64();
        }

        var dump = await Nv(dir.Path, "wal", "dump", "--json", "--limit", "1000");
        Assert.True(dump.ExitCode == 0, dump.Describe());
        Assert.Equal(40, dump.Stdout.Count);

        var verify = await Nv(dir.Path, "wal", "verify");
        Assert.True(verify.ExitCode == 5, verify.Describe());
        Assert.StartsWith("wal verify: DAMAGED", Assert.Single(verify.Stdout), StringComparison.Ordinal);

        var after = TreeSnapshot.Take(wal);
        Assert.True(before.SequenceEqual(after), "a read-only command changed the WAL directory:\n" + TreeSnapshot.Diff(before, after));

        // The read-write open cuts what the read-only ones reported, byte for byte.
        var replay = await Nv(dir.Path, "replay");
        Assert.True(replay.ExitCode == 0, replay.Describe());
        Assert.Equal(wouldCut, new FileInfo(Assert.Single(Directory.GetFiles(wal, "*.broken"))).Length);
    }

    /// <summary>A WAL a newer Nv wrote (here its geometry file, version 2) is refused by every command that opens it, read-only
    /// or not: exit 2, one line naming the file and both versions, nothing in the WAL directory changed. Fails without the
    /// versioned refusal: "damaged ... delete it" (and a deleted file would have been recorded again as version 1).</summary>
    [Theory]
    [InlineData("wal", "verify")]
    [InlineData("wal", "stat")]
    [InlineData("replay")]
    public async Task A_wal_written_by_a_newer_nv_is_refused_with_exit_2_and_left_as_it_is(params string[] args)
    {
        using var dir = new TempDirectory("cli-walnewer");
        await LoadAsync(dir.Path);
        var wal = Path.Combine(dir.Path, "wal");
        await File.WriteAllTextAsync(Path.Combine(wal, "geometry"), "nv-wal-geometry/v2\nsegment-bits: 26\npage-bits: 22\n",
            TestContext.Current.CancellationToken);
        var before = TreeSnapshot.Take(wal);

        var result = await Nv(dir.Path, args);

        Assert.True(result.ExitCode == 2, result.Describe());
        var line = Assert.Single(result.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
        Assert.Contains("was written by a newer Nv (WAL geometry version 2); this build reads up to WAL geometry version 1", line, StringComparison.Ordinal);
        var after = TreeSnapshot.Take(wal);
        Assert.True(before.SequenceEqual(after), TreeSnapshot.Diff(before, after));
    }

    private static async Task LoadAsync(string dataDir)
    {
        var load = await Nv(dataDir, "load", "--count", "40", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "ro");
        Assert.True(load.ExitCode == 0, load.Describe());
    }
}
