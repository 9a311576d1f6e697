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
    /// lines on stderr, the file log written).</summary>
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
    public async Task Bad_input_exits_2_with_one_line_before_anything_is_opened_or_written(string expected, params string[] args)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("cli-auditbad");
        using var files = new TempDirectory("cli-auditbad-files");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--count", "10", "--entities", "5", "--writers", "2", "--quiet", "--run-id", "bad");
        Assert.True(load.ExitCode == 0, load.Describe());
        await File.WriteAllTextAsync(Path.Combine(files.Path, "bad.pem"), "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", ct);
        await File.WriteAllTextAsync(Path.Combine(files.Path, "existing"), "an existing file", ct);
        var data = TreeSnapshot.Take(dir.Path);
        var inputs = TreeSnapshot.Take(files.Path);

        var run = await NvProcess.RunAsync(dir.Path, null, Timeout, [.. args.Select(a => a.Replace("{files}", files.Path, StringComparison.Ordinal))]);

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
}
