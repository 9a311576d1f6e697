using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The audit commands check the files, keys, cursor and output path they are given before they open anything: bad
/// input is exit 2 with exactly one line on stderr, and nothing is written (not in the data directory, not beside the
/// input files).</summary>
public sealed class AuditBadInputCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Fails without CommandInput: <c>--archive</c> naming a missing file was exit 5 "BROKEN" (AuditVerifyArchives
    /// promises 2), a missing <c>--public-key</c> or <c>--from-checkpoint</c> file exit 1, a malformed public key exit 1
    /// after the store was opened and its progress line printed, <c>audit checkpoint --out</c> naming a file (or a path under
    /// one) exit 1 after signing, and a garbage <c>--cursor</c> was refused only after the store opened (the host's log
    /// lines on stderr, the file log written). Fails without OutputDirectory and RequireOutputFile: <c>audit archive</c> and
    /// <c>checkpoint</c> with an <c>--out</c> that cannot be created (under /proc, even for root) opened the store (audit.db
    /// rewritten at close) and exited 1; <c>audit prove --checkpoint-out</c> naming a directory exited 1 after the proof,
    /// leaving a stray <c>adir.tmp</c> checkpoint beside it, and one in a missing directory, under a file or under /proc
    /// exited 1 after the proof; <c>prove --archive</c> with a missing archive or --public-key file exited 1.</summary>
    [Theory]
    [InlineData("--archive", "audit", "verify", "--archive", "{files}/missing.nvarchive")]
    [InlineData("--archive", "audit", "verify", "--archive", "{files}")]
    [InlineData("--public-key", "audit", "verify", "--public-key", "{files}/missing.pem")]
    [InlineData("--public-key", "audit", "verify", "--public-key", "{files}/bad.pem")]
    [InlineData("--public-key", "audit", "verify", "--public-key", "{files}")]
    [InlineData("--from-checkpoint", "audit", "verify", "--from-checkpoint", "{files}/missing.checkpoint")]
    [InlineData("--from-checkpoint", "audit", "verify", "--from-checkpoint", "{files}/bad.pem")]
    [InlineData("--out", "audit", "checkpoint", "--out", "{files}/existing")]
    [InlineData("--out", "audit", "checkpoint", "--out", "{files}/existing/sub")]
    [InlineData("--cursor", "audit", "query", "--cursor", "garbage")]
    [InlineData("--out", "audit", "archive", "--before", "2999-01-01T00:00:00Z", "--out", "{files}/existing/sub")]
    [InlineData("--public-key", "audit", "verify", "--archive", "{files}/bad.pem", "--public-key", "{files}/missing.pem")]
    [InlineData("--out", "audit", "archive", "--before", "2999-01-01T00:00:00Z", "--out", "/proc/nv-smoke-archive")]
    [InlineData("--out", "audit", "checkpoint", "--out", "/proc/nv-smoke-checkpoints")]
    [InlineData("--checkpoint-out", "audit", "prove", "{entry}", "--checkpoint-out", "{files}/adir")]
    [InlineData("--checkpoint-out", "audit", "prove", "{entry}", "--checkpoint-out", "{files}/missing/entry.checkpoint")]
    [InlineData("--checkpoint-out", "audit", "prove", "{entry}", "--checkpoint-out", "{files}/existing/entry.checkpoint")]
    [InlineData("--checkpoint-out", "audit", "prove", "{entry}", "--checkpoint-out", "/proc/nv-smoke.checkpoint")]
    [InlineData("--archive", "audit", "prove", "{entry}", "--archive", "{files}/missing.nvarchive")]
    [InlineData("--public-key", "audit", "prove", "{entry}", "--archive", "{files}/bad.pem", "--public-key", "{files}/missing.pem")]
    public async Task Bad_input_exits_2_with_one_line_before_anything_is_opened_or_written(string expected, params string[] args)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("cli-auditbad");
        using var files = new TempDirectory("cli-auditbad-files");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--count", "10", "--entities", "5", "--writers", "2", "--quiet", "--run-id", "bad");
        Assert.True(load.ExitCode == 0, load.Describe());
        await File.WriteAllTextAsync(Path.Combine(files.Path, "bad.pem"), "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", ct);
        await File.WriteAllTextAsync(Path.Combine(files.Path, "existing"), "an existing file", ct);
        Directory.CreateDirectory(Path.Combine(files.Path, "adir"));
        var entry = (string)DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"), "SELECT id FROM audit_entries ORDER BY sequence LIMIT 1")!;
        var data = TreeSnapshot.Take(dir.Path);
        var inputs = TreeSnapshot.Take(files.Path);

        var run = await NvProcess.RunAsync(dir.Path, null, Timeout,
            [.. args.Select(a => a.Replace("{files}", files.Path, StringComparison.Ordinal).Replace("{entry}", entry, StringComparison.Ordinal))]);

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr);
        Assert.StartsWith("nv: error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        var after = TreeSnapshot.Take(dir.Path);
        Assert.True(data.SequenceEqual(after), "the data directory changed:\n" + TreeSnapshot.Diff(data, after));
        var inputsAfter = TreeSnapshot.Take(files.Path);
        Assert.True(inputs.SequenceEqual(inputsAfter), "something was written beside the inputs:\n" + TreeSnapshot.Diff(inputs, inputsAfter));
    }

    /// <summary>The checks leave what they accept working: <c>--checkpoint-out</c> replaces an existing file, and an archive
    /// <c>--out</c> directory created for the run is removed again when nothing was old enough to archive (as before the
    /// directory was prepared up front), kept with the archive otherwise; no probe file is left anywhere.</summary>
    [Fact]
    public async Task Good_output_paths_are_written_and_a_directory_created_for_nothing_is_removed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("cli-auditgood");
        using var files = new TempDirectory("cli-auditgood-files");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--count", "10", "--entities", "5", "--writers", "2", "--quiet", "--run-id", "good");
        Assert.True(load.ExitCode == 0, load.Describe());
        var entry = (string)DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"), "SELECT id FROM audit_entries ORDER BY sequence LIMIT 1")!;
        var existing = Path.Combine(files.Path, "existing.checkpoint");
        await File.WriteAllTextAsync(existing, "an older export", ct);

        var prove = await NvProcess.RunAsync(dir.Path, null, Timeout, "audit", "prove", entry, "--checkpoint-out", existing);
        Assert.True(prove.ExitCode == 0, prove.Describe());
        Assert.DoesNotContain("an older export", await File.ReadAllTextAsync(existing, ct), StringComparison.Ordinal);

        var archives = Path.Combine(files.Path, "new", "archives");
        var nothing = await NvProcess.RunAsync(dir.Path, null, Timeout, "audit", "archive", "--before", "2000-01-01T00:00:00Z", "--out", archives);
        Assert.True(nothing.ExitCode == 0, nothing.Describe());
        Assert.False(Directory.Exists(Path.Combine(files.Path, "new")), "an unused --out directory was left behind");

        var archived = await NvProcess.RunAsync(dir.Path, null, Timeout, "audit", "archive", "--before", "2999-01-01T00:00:00Z", "--out", archives);
        Assert.True(archived.ExitCode == 0, archived.Describe());
        Assert.Single(Directory.GetFiles(archives, "*.nvarchive"));
        Assert.Equal(["existing.checkpoint", Path.Combine("new", "archives", Path.GetFileName(Directory.GetFiles(archives).Single()))],
            Directory.GetFiles(files.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(files.Path, f)).Order(StringComparer.Ordinal));
    }
}
