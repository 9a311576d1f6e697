using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The real <c>nv</c> refuses to start with exit code 6 and one line naming both positions when a store holds LSNs
/// the WAL never issued (the WAL was lost): it never reuses an LSN and writes nothing.</summary>
public sealed class StoreMismatchCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_lost_wal_under_a_store_that_holds_records_exits_6_and_writes_nothing()
    {
        using var dir = new TempDirectory("nv-mismatch");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--count", "20", "--writers", "2", "--quiet");
        Assert.True(load.ExitCode == 0, load.Describe());
        Directory.Delete(Path.Combine(dir.Path, "wal"), recursive: true);
        var before = File.ReadAllBytes(Path.Combine(dir.Path, "nv.db"));

        var replay = await NvProcess.RunAsync(dir.Path, null, Timeout, "replay");

        Assert.True(replay.ExitCode == 6, replay.Describe());
        var error = Assert.Single(replay.Stderr, l => l.StartsWith("nv: error:", StringComparison.Ordinal));
        Assert.Contains("holds LSN 20", error, StringComparison.Ordinal);
        Assert.Contains("will not reuse LSNs", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir.Path, "nv.db")));

        var serve = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string> { ["NV_URLS"] = "http://127.0.0.1:0" }, Timeout, "serve");
        Assert.True(serve.ExitCode == 6, serve.Describe());
    }
}
