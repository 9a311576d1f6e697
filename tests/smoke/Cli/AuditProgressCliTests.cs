using System.Globalization;
using System.Text.RegularExpressions;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary><c>nv audit verify</c>, <c>archive</c> and <c>prune</c> draw progress lines on stderr (from the start with
/// <c>NV_PROGRESS=on</c>, never with <c>off</c>), and stdout, which scripts parse, is byte for byte what it is without
/// them. (The default's one-second delay is checked in-process, <c>AuditProgressLineTests</c>: a loaded machine can take
/// that long even for this small trail.)</summary>
public sealed partial class AuditProgressCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private static readonly Dictionary<string, string> On = new() { ["NV_PROGRESS"] = "on" };

    private static readonly Dictionary<string, string> Off = new() { ["NV_PROGRESS"] = "off" };

    // "audit verify: checking hash chains: 40/40 entries (100%), 9000 entries/s", or without a total "...: 40 entries, 9000 entries/s".
    [GeneratedRegex(@"^audit (verify|archive|prune): [^:]+: \d+(/\d+ [a-z]+ \(\d+%\)| [a-z]+), \d+ [a-z]+/s$")]
    private static partial Regex ProgressLine();

    private static Task<NvRun> Nv(string dataDir, IReadOnlyDictionary<string, string>? env, params string[] args) =>
        NvProcess.RunAsync(dataDir, env, Timeout, args);

    private static long Count(string dataDir, string sql) => (long)DataDirectoryScan.Scalar(Path.Combine(dataDir, "audit.db"), sql)!;

    private static void AssertEnds(NvRun run, string label, long total, string unit) =>
        Assert.True(run.Stderr.Any(l => l.StartsWith($"{label}: {total}/{total} {unit} (100%), ", StringComparison.Ordinal)),
            $"no final '{label}' line at {total}: {run.Describe()}");

    /// <summary>Fails without the progress reporting: none of the three commands drew a line while it ran.</summary>
    [Fact]
    public async Task Verify_archive_and_prune_draw_progress_on_stderr_and_leave_stdout_as_it_was()
    {
        using var dir = new TempDirectory("cli-progress");
        var load = await Nv(dir.Path, null, "load", "--count", "90", "--entities", "12", "--writers", "4", "--quiet", "--run-id", "prog");
        Assert.True(load.ExitCode == 0, load.Describe());
        await Task.Delay(20, TestContext.Current.CancellationToken);
        var before = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        var entries = Count(dir.Path, "SELECT count(*) FROM audit_entries");
        var checkpoints = Count(dir.Path, "SELECT count(*) FROM audit_checkpoints");

        foreach (var json in new[] { false, true })
        {
            string[] args = json ? ["audit", "verify", "--json"] : ["audit", "verify"];
            var plain = await Nv(dir.Path, null, args);
            var shown = await Nv(dir.Path, On, args);
            var off = await Nv(dir.Path, Off, args);
            Assert.True(plain.ExitCode == 0 && shown.ExitCode == 0 && off.ExitCode == 0, shown.Describe());
            Assert.Equal(plain.Stdout, shown.Stdout);
            Assert.Equal(plain.Stdout, off.Stdout);
            Assert.DoesNotContain(off.Stderr, l => ProgressLine().IsMatch(l));
            AssertEnds(shown, "audit verify: checking hash chains", entries, "entries");
            AssertEnds(shown, "audit verify: checking checkpoints", checkpoints, "checkpoints");
            AssertEnds(shown, "audit verify: checking Merkle leaves", entries, "leaves");
            Assert.DoesNotContain(shown.Stdout, l => ProgressLine().IsMatch(l));
        }

        var archives = Path.Combine(dir.Path, "archives");
        var archive = await Nv(dir.Path, On, "audit", "archive", "--before", before, "--out", archives);
        Assert.True(archive.ExitCode == 0, archive.Describe());
        var file = Assert.Single(Directory.GetFiles(archives));
        var chain = (string)DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"), "SELECT chain FROM audit_archives")!;
        var archived = Count(dir.Path, "SELECT last_sequence - first_sequence + 1 FROM audit_archives");
        Assert.Matches($@"^{Regex.Escape(file)}: chain '{Regex.Escape(chain)}' entries 1\.\.{archived}, sha256 [0-9a-f]{{64}}$", Assert.Single(archive.Stdout));
        AssertEnds(archive, $"audit archive: writing chain '{chain}'", archived, "entries");
        AssertEnds(archive, $"audit archive: checking the archive of chain '{chain}'", archived, "entries");
        Assert.Contains(archive.Stderr, l => l == "audit archive: 1 archive(s) written, verified and recorded");

        // Offline: no total before the file's end line.
        var offline = await Nv(dir.Path, On, "audit", "verify", "--archive", file);
        Assert.True(offline.ExitCode == 0, offline.Describe());
        Assert.StartsWith($"audit verify: OK: {file}: chain '{chain}'", Assert.Single(offline.Stdout), StringComparison.Ordinal);
        Assert.Contains(offline.Stderr, l => l.StartsWith($"audit verify: checking the archive of chain '{chain}': {archived} entries, ", StringComparison.Ordinal));

        var prune = await Nv(dir.Path, On, "audit", "prune", "--before", before);
        Assert.True(prune.ExitCode == 0, prune.Describe());
        Assert.Equal($"chain '{chain}': entries 1..{archived} pruned (archive {file})", Assert.Single(prune.Stdout));
        AssertEnds(prune, $"audit prune: checking the archive of chain '{chain}'", archived, "entries");
        AssertEnds(prune, $"audit prune: deleting chain '{chain}'", archived, "entries");

        var left = Count(dir.Path, "SELECT count(*) FROM audit_entries");
        var after = await Nv(dir.Path, On, "audit", "verify");
        Assert.True(after.ExitCode == 0, after.Describe());
        AssertEnds(after, "audit verify: checking hash chains", left, "entries");
        Assert.All(new[] { archive, offline, prune, after }.SelectMany(r => r.Stdout), l => Assert.DoesNotMatch(ProgressLine(), l));
    }

    [Theory]
    [InlineData("audit", "verify")]
    [InlineData("replay", "--dry-run")]
    public async Task A_bad_NV_PROGRESS_is_exit_2_with_one_line_before_anything_is_opened(params string[] args)
    {
        using var dir = new TempDirectory("cli-progress-bad");

        var run = await Nv(dir.Path, new Dictionary<string, string> { ["NV_PROGRESS"] = "sometimes" }, args);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Equal("nv: error: NV_PROGRESS 'sometimes' is not on, off or auto.", Assert.Single(run.Stderr));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }
}
