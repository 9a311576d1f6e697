using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary><c>nv audit checkpoint --out DIR</c> exports the newest checkpoint of every chain, which then catches a
/// trail cut back at its end (entries, Merkle leaves and checkpoints all deleted) that verifies clean on its own.</summary>
public sealed class AuditCheckpointExportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static Task<NvRun> Nv(string dataDir, params string[] args) => NvProcess.RunAsync(dataDir, null, Timeout, args);

    [Fact]
    public async Task A_checkpoint_exported_when_no_chain_grew_catches_the_deletion_of_the_newest_entries()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("cli-ckpt");
        var load = await Nv(dir.Path, "load", "--count", "30", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "ckpt");
        Assert.True(load.ExitCode == 0, load.Describe());

        // The host signed a checkpoint of the whole trail when it stopped, so no chain grew since: the export must still
        // write that newest checkpoint.
        var export = Path.Combine(dir.Path, "kept-outside");
        var checkpoint = await Nv(dir.Path, "audit", "checkpoint", "--out", export);
        Assert.True(checkpoint.ExitCode == 0, checkpoint.Describe());
        var file = Assert.Single(Directory.GetFiles(export, "*.checkpoint"));
        var size = long.Parse(Path.GetFileNameWithoutExtension(file).Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(size > 5, $"the exported checkpoint covers {size} entries"); // entity mutations (rejected writes have none) + start/stop

        // Cut the trail back: the newest 5 entries, their Merkle leaves and every checkpoint that covered them.
        var cut = size - 5;
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "audit.db")};Pooling=False"))
        {
            await connection.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                DROP TRIGGER audit_entries_no_delete;
                DROP TRIGGER audit_merkle_leaves_no_delete;
                DROP TRIGGER audit_checkpoints_no_delete;
                DELETE FROM audit_entries WHERE sequence > {cut};
                DELETE FROM audit_merkle_leaves WHERE idx >= {cut};
                DELETE FROM audit_checkpoints WHERE size > {cut};
                """;
            await command.ExecuteNonQueryAsync(ct);
        }

        var alone = await Nv(dir.Path, "audit", "verify");
        Assert.True(alone.ExitCode == 0, "without a checkpoint kept outside, a trail cut at its end looks intact: " + alone.Describe());

        var withFile = await Nv(dir.Path, "audit", "verify", "--from-checkpoint", file);
        Assert.True(withFile.ExitCode == 5, withFile.Describe());
        Assert.Contains(withFile.Stdout, l => l.StartsWith("audit verify: BROKEN", StringComparison.Ordinal));
    }
}
