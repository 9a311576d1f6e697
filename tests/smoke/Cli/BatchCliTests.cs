using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The operator CLI on a log holding batch records (written by <c>nv load --batch-size</c>).</summary>
public sealed class BatchCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Wal_dump_shows_batch_records_and_their_items()
    {
        using var dir = new TempDirectory("cli-batch");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--batch-size", "3", "--count", "12", "--writers", "2", "--entities", "12", "--run-id", "cb");
        Assert.True(load.ExitCode == 0, load.Describe());
        Assert.Equal(12, Ack.Parse(load.Stdout).Count(a => a.Operation == "batch" && a.EntityId == "3"));

        var dump = await NvProcess.RunAsync(dir.Path, null, Timeout, "wal", "dump", "--json", "--limit", "12");
        Assert.True(dump.ExitCode == 0, dump.Describe());
        var records = dump.Stdout.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(12, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal("batch", r.GetProperty("operation").GetString());
            var items = r.GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(3, items.Count);
            Assert.All(items, i => Assert.Contains(i.GetProperty("operation").GetString(), new[] { "create", "update", "delete" }));
        });

        var table = await NvProcess.RunAsync(dir.Path, null, Timeout, "wal", "dump", "--limit", "3");
        Assert.True(table.ExitCode == 0, table.Describe());
        Assert.Contains(table.Stdout, l => l.Contains("(3 items)", StringComparison.Ordinal));
    }
}
