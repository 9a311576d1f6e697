using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary><c>nv audit prove</c> on a store written by <c>nv load</c>: it only reads (the newest stored checkpoint, never a
/// new one), and names what failed: the checkpoint's signature (checked with the current and the earlier public keys) or
/// the stored entry.</summary>
public sealed class AuditProveTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static Task<NvRun> Nv(string dataDir, params string[] args) => NvProcess.RunAsync(dataDir, null, Timeout, args);

    private static async Task LoadAsync(string dataDir)
    {
        var load = await Nv(dataDir, "load", "--count", "60", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "cli");
        Assert.True(load.ExitCode == 0, load.Describe());
    }

    /// <summary>Fails without the checks in AuditProveCommand: --tree-size 0 printed the raw two-line
    /// ArgumentOutOfRangeException message without "nv: error:", and an unknown id a line without the prefix.</summary>
    [Fact]
    public async Task Audit_prove_with_a_bad_tree_size_or_an_unknown_entry_is_one_error_line()
    {
        using var dir = new TempDirectory("cli-provebad");
        await LoadAsync(dir.Path);
        var entry = AuditEntryId(dir.Path, 7);

        var zero = await Nv(dir.Path, "audit", "prove", entry, "--tree-size", "0");
        Assert.True(zero.ExitCode == 2, zero.Describe());
        Assert.StartsWith("nv: error: --tree-size", Assert.Single(zero.Stderr), StringComparison.Ordinal); // nothing opened: no log either
        Assert.Empty(zero.Stdout);

        var tooSmall = await Nv(dir.Path, "audit", "prove", entry, "--tree-size", "3"); // leaf 6 is not in a tree of 3
        Assert.True(tooSmall.ExitCode == 2, tooSmall.Describe());
        AssertOneErrorLine(tooSmall, "--tree-size 3");

        var unknown = await Nv(dir.Path, "audit", "prove", Guid.NewGuid().ToString());
        Assert.True(unknown.ExitCode == 1, unknown.Describe());
        AssertOneErrorLine(unknown, "no audit entry has id");
    }

    /// <summary>Fails without the leaf recomputation in AuditInclusionProof.Verify: it checked the store's leaf hash against
    /// the store's root (both from the Merkle tree, never from the entry), so an entry whose after_json was rewritten, or a
    /// row given another id, still printed "verified": true with the signed checkpoint.</summary>
    [Fact]
    public async Task Audit_prove_reports_an_entry_edited_after_it_was_appended()
    {
        using var dir = new TempDirectory("cli-provetamper");
        await LoadAsync(dir.Path);
        var edited = AuditEntryId(dir.Path, 7);
        var renamed = AuditEntryId(dir.Path, 8);
        var newId = Guid.NewGuid().ToString();
        foreach (var id in new[] { edited, renamed })
        {
            var intact = await Nv(dir.Path, "audit", "prove", id);
            Assert.True(intact.ExitCode == 0, intact.Describe());
            using var json = JsonDocument.Parse(string.Join('\n', intact.Stdout));
            Assert.True(json.RootElement.GetProperty("verified").GetBoolean());
        }

        await using (var connection = new SqliteConnection($"Data Source={AuditDb(dir.Path)};Pooling=False"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $$"""
                DROP TRIGGER IF EXISTS audit_entries_no_update;
                UPDATE audit_entries SET after_json = '{"tampered":true}' WHERE id = '{{edited}}';
                UPDATE audit_entries SET id = '{{newId}}' WHERE id = '{{renamed}}';
                """;
            Assert.Equal(2, await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        foreach (var id in new[] { edited, newId })
        {
            var prove = await Nv(dir.Path, "audit", "prove", id);
            Assert.True(prove.ExitCode == 5, prove.Describe());
            using var json = JsonDocument.Parse(string.Join('\n', prove.Stdout));
            Assert.False(json.RootElement.GetProperty("verified").GetBoolean());
            Assert.NotNull(json.RootElement.GetProperty("checkpoint").GetString());
            AssertOneErrorLine(prove, "does not verify");
        }
    }

    // The load's operations are random and only applied ones are audited (20 writes once left 6 entries plus 3 of Nv's own,
    // and sequence 8 did not exist): callers load the default 60 writes, and a missing entry says so.
    private static string AuditEntryId(string dataDir, long sequence) =>
        DataDirectoryScan.Scalar(AuditDb(dataDir), $"SELECT id FROM audit_entries WHERE sequence = {sequence}") as string
            ?? throw new InvalidOperationException($"The load left no audit entry at sequence {sequence} (too few writes applied).");

    // One "nv: error:" line naming the problem; any other stderr line is the host's log (no stack trace, no raw message).
    private static string AssertOneErrorLine(NvRun run, string expected)
    {
        var line = Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.All(run.Stderr, l => Assert.Matches(@"^(nv: error: |\[\d\d:\d\d:\d\d [A-Z]{3}\] )", l));
        return line;
    }

    private static string AuditDb(string dataDir) => Path.Combine(dataDir, "audit.db");
}
