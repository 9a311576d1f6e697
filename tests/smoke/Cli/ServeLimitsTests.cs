using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary><c>nv serve</c> refuses limits that do not fit together before it accepts any write.</summary>
public sealed class ServeLimitsTests
{
    [Fact]
    public async Task Serve_refuses_a_payload_limit_larger_than_a_wal_record_with_exit_2_and_one_line_naming_both()
    {
        using var dir = new TempDirectory("cli-limits");
        var env = new Dictionary<string, string>
        {
            ["NV_URLS"] = "http://127.0.0.1:5982",
            ["Nv__Pipeline__MaxPayloadBytes"] = "4194304",
            ["NV_MAX_BODY_BYTES"] = "8388608",
        };
        var run = await NvProcess.RunAsync(dir.Path, env, TimeSpan.FromSeconds(90), "serve");

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
        Assert.Contains("Nv:Pipeline:MaxPayloadBytes (4194304)", line, StringComparison.Ordinal);
        Assert.Contains("Nv:Wal:MaxRecordBytes (1048576)", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "wal")) && Directory.EnumerateFiles(Path.Combine(dir.Path, "wal"), "*.log.*", SearchOption.AllDirectories).Any(),
            "nothing may be written before the configuration is accepted");
    }

    /// <summary>Was accepted: a batch limit over the WAL's record limit let one atomic batch reach the WAL too large for a
    /// record, and the batch encoder's refusal faulted the pipeline (the host exited 70).</summary>
    [Fact]
    public async Task Serve_refuses_a_batch_limit_larger_than_a_wal_record_with_exit_2_and_one_line_naming_both()
    {
        using var dir = new TempDirectory("cli-batch-limits");
        var env = new Dictionary<string, string>
        {
            ["NV_URLS"] = "http://127.0.0.1:5983",
            ["Nv__Wal__MaxRecordBytes"] = "65536",
            ["Nv__Pipeline__MaxPayloadBytes"] = "16384",
        };
        var run = await NvProcess.RunAsync(dir.Path, env, TimeSpan.FromSeconds(90), "serve");

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
        Assert.Contains("Nv:Pipeline:MaxBatchBytes (983040)", line, StringComparison.Ordinal);
        Assert.Contains("Nv:Wal:MaxRecordBytes (65536)", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "wal")) && Directory.EnumerateFiles(Path.Combine(dir.Path, "wal"), "*.log.*", SearchOption.AllDirectories).Any(),
            "nothing may be written before the configuration is accepted");
    }
}
