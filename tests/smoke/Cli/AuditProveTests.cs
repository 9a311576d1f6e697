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
            var line = AssertOneErrorLine(prove, "as stored is not leaf"); // the entry is blamed, not the checkpoint's signature
            Assert.DoesNotContain("signature", line, StringComparison.Ordinal);
        }

        // Asked for a checkpoint no size has, the edited entry is still reported as edited (exit 5), not as the usage error
        // (exit 2) that hid it; no file is written. Failed while the usage check ran first.
        var chain = (string)DataDirectoryScan.Scalar(AuditDb(dir.Path), $"SELECT service FROM audit_entries WHERE id = '{edited}'")!;
        var unsigned = (long)DataDirectoryScan.Scalar(AuditDb(dir.Path), $"""
            SELECT MIN(sequence) FROM audit_entries WHERE service = '{chain}' AND sequence >= 7
            AND sequence NOT IN (SELECT size FROM audit_checkpoints WHERE chain = '{chain}')
            """)!;
        var file = Path.Combine(dir.Path, "edited.checkpoint");
        var asked = await Nv(dir.Path, "audit", "prove", edited, "--tree-size",
            unsigned.ToString(System.Globalization.CultureInfo.InvariantCulture), "--checkpoint-out", file);
        Assert.True(asked.ExitCode == 5, asked.Describe());
        AssertOneErrorLine(asked, "as stored is not leaf");
        Assert.False(File.Exists(file));
    }

    /// <summary>Fails without reading the newest stored checkpoint and the read-only opening: prove opened the store to write
    /// (its schema transaction left a frame in audit.db-wal on every run) and, for an entry no checkpoint covered, signed and
    /// stored a new checkpoint.</summary>
    [Fact]
    public async Task Audit_prove_without_tree_size_proves_against_the_newest_stored_checkpoint_and_writes_nothing()
    {
        using var dir = new TempDirectory("cli-proveread");
        await LoadAsync(dir.Path);
        var entry = AuditEntryId(dir.Path, 7);
        var newest = (string)DataDirectoryScan.Scalar(AuditDb(dir.Path),
            "SELECT text FROM audit_checkpoints ORDER BY size DESC, position DESC LIMIT 1")!;
        // Every file but logs/, nv's own log, which every command appends to: the stores, their SQLite WAL and shared-memory
        // files, the WAL, the keys.
        var before = DataDirectoryScan.Hashes(dir.Path, except: "logs");

        var prove = await Nv(dir.Path, "audit", "prove", entry);

        Assert.True(prove.ExitCode == 0, prove.Describe());
        using var json = JsonDocument.Parse(string.Join('\n', prove.Stdout));
        Assert.True(json.RootElement.GetProperty("verified").GetBoolean());
        Assert.Equal(newest, json.RootElement.GetProperty("checkpoint").GetString());
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));
    }

    /// <summary>Fails without reading the newest stored checkpoint: for an entry appended after the newest checkpoint (here
    /// the host was killed before it signed one), prove signed and stored a new checkpoint.</summary>
    [Fact]
    public async Task Audit_prove_of_an_entry_no_stored_checkpoint_covers_says_so_and_signs_nothing()
    {
        using var dir = new TempDirectory("cli-provenone");
        var killed = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string> { ["NV_CRASH_AT"] = "after-audit:5" }, Timeout,
            "load", "--count", "2000", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "cli");
        Assert.True(killed.ExitCode == NvProcess.KilledExitCode, killed.Describe());
        var sequence = (long)DataDirectoryScan.Scalar(AuditDb(dir.Path), "SELECT MAX(sequence) FROM audit_entries")!;
        var entry = AuditEntryId(dir.Path, sequence);
        var checkpoints = Checkpoints(dir.Path);
        var before = DataDirectoryScan.Hashes(dir.Path, except: "logs");

        var prove = await Nv(dir.Path, "audit", "prove", entry);

        Assert.True(prove.ExitCode == 1, prove.Describe());
        AssertOneErrorLine(prove, "no signed checkpoint of chain");
        Assert.Empty(prove.Stdout);
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));
        Assert.Equal(checkpoints, Checkpoints(dir.Path));

        // Asked for a tree size, it proves the entry against that tree, unsigned, and still writes nothing.
        var size = sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var unsigned = await Nv(dir.Path, "audit", "prove", entry, "--tree-size", size);
        Assert.True(unsigned.ExitCode == 0, unsigned.Describe());
        using var json = JsonDocument.Parse(string.Join('\n', unsigned.Stdout));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("checkpoint").ValueKind);
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));
    }

    /// <summary>Fails without the check in AuditProveCommand: with --tree-size N and no stored checkpoint of size N,
    /// --checkpoint-out was silently not written (exit 0, an unsigned proof on stdout), so the file of an earlier run stayed
    /// in place and the caller read that stale checkpoint as the one for N. Now: exit 2, one line naming the size and the
    /// newest stored one, nothing on stdout, the earlier file byte for byte as it was, nothing in the data directory changed.</summary>
    [Fact]
    public async Task Audit_prove_with_checkpoint_out_and_a_tree_size_no_checkpoint_has_fails_and_leaves_the_file_alone()
    {
        using var dir = new TempDirectory("cli-provecpout");
        using var outDir = new TempDirectory("cli-provecpout-file");
        await LoadAsync(dir.Path);
        var entry = AuditEntryId(dir.Path, 7);
        var chain = (string)DataDirectoryScan.Scalar(AuditDb(dir.Path), $"SELECT service FROM audit_entries WHERE id = '{entry}'")!;
        var signed = (long)DataDirectoryScan.Scalar(AuditDb(dir.Path),
            $"SELECT size FROM audit_checkpoints WHERE chain = '{chain}' AND size >= 7 ORDER BY size LIMIT 1")!;
        var newest = (long)DataDirectoryScan.Scalar(AuditDb(dir.Path),
            $"SELECT MAX(size) FROM audit_checkpoints WHERE chain = '{chain}'")!;
        var unsigned = (long)DataDirectoryScan.Scalar(AuditDb(dir.Path), $"""
            SELECT MIN(sequence) FROM audit_entries WHERE service = '{chain}' AND sequence >= 7
            AND sequence NOT IN (SELECT size FROM audit_checkpoints WHERE chain = '{chain}')
            """)!;
        var file = Path.Combine(outDir.Path, "entry.checkpoint");
        string Size(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var earlier = await Nv(dir.Path, "audit", "prove", entry, "--tree-size", Size(signed), "--checkpoint-out", file);
        Assert.True(earlier.ExitCode == 0, earlier.Describe());
        var written = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
        var signedText = DataDirectoryScan.Scalar(AuditDb(dir.Path),
            $"SELECT text FROM audit_checkpoints WHERE chain = '{chain}' AND size = {signed}");
        Assert.Equal(signedText, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
        var before = DataDirectoryScan.Hashes(dir.Path, except: "logs");

        var prove = await Nv(dir.Path, "audit", "prove", entry, "--tree-size", Size(unsigned), "--checkpoint-out", file);

        Assert.True(prove.ExitCode == 2, prove.Describe());
        var line = AssertOneErrorLine(prove,
            $"no signed checkpoint of chain {chain} has tree size {unsigned} (the newest has size {newest})");
        Assert.Contains("--checkpoint-out " + file, line, StringComparison.Ordinal);
        Assert.Empty(prove.Stdout);
        Assert.Equal(written, await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken));
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));

        // A new file is not created either; without --checkpoint-out the unsigned proof is still printed.
        var fresh = Path.Combine(outDir.Path, "fresh.checkpoint");
        var none = await Nv(dir.Path, "audit", "prove", entry, "--tree-size", Size(unsigned), "--checkpoint-out", fresh);
        Assert.True(none.ExitCode == 2, none.Describe());
        Assert.False(File.Exists(fresh));
        var plain = await Nv(dir.Path, "audit", "prove", entry, "--tree-size", Size(unsigned));
        Assert.True(plain.ExitCode == 0, plain.Describe());
        using var json = JsonDocument.Parse(string.Join('\n', plain.Stdout));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("checkpoint").ValueKind);
    }

    /// <summary>Fails without checking the signature apart from the leaf: a checkpoint whose signature no longer matched its
    /// text was reported as "the entry's row was edited".</summary>
    [Fact]
    public async Task Audit_prove_blames_a_checkpoint_whose_signature_does_not_match_not_the_entry()
    {
        using var dir = new TempDirectory("cli-provesig");
        await LoadAsync(dir.Path);
        var entry = AuditEntryId(dir.Path, 7);
        await using (var connection = new SqliteConnection($"Data Source={AuditDb(dir.Path)};Pooling=False"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            // Another signing time: chain, size and root still match the tree, so only the signature can tell.
            command.CommandText = """
                DROP TRIGGER IF EXISTS audit_checkpoints_no_update;
                UPDATE audit_checkpoints SET text = replace(text, 'time: 20', 'time: 21')
                WHERE position = (SELECT position FROM audit_checkpoints ORDER BY size DESC, position DESC LIMIT 1);
                """;
            Assert.Equal(1, await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        var prove = await Nv(dir.Path, "audit", "prove", entry);

        Assert.True(prove.ExitCode == 5, prove.Describe());
        using var json = JsonDocument.Parse(string.Join('\n', prove.Stdout));
        Assert.False(json.RootElement.GetProperty("verified").GetBoolean());
        var line = AssertOneErrorLine(prove, "the checkpoint's signature does not verify");
        Assert.Contains("The signature does not match", line, StringComparison.Ordinal);
        Assert.DoesNotContain("row was edited", line, StringComparison.Ordinal);
    }

    /// <summary>Fails without the earlier keys (Nv:Audit:PreviousPublicKeysPath) in prove's signature check: a checkpoint signed
    /// before a key change failed with the current key alone, reported as an edited row.</summary>
    [Fact]
    public async Task Audit_prove_verifies_a_checkpoint_signed_before_a_key_change_only_with_the_earlier_key_configured()
    {
        using var dir = new TempDirectory("cli-proverotate");
        using var keys = new TempDirectory("cli-proverotate-keys");
        await LoadAsync(dir.Path); // its checkpoints are signed with the key generated into the data directory
        var entry = AuditEntryId(dir.Path, 7);
        var rotated = Path.Combine(keys.Path, "rotated.pem");
        using (var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(rotated, key.ExportPkcs8PrivateKeyPem(), TestContext.Current.CancellationToken);
        }

        var currentOnly = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string> { ["Nv__Audit__SigningKeyPath"] = rotated },
            Timeout, "audit", "prove", entry);
        Assert.True(currentOnly.ExitCode == 5, currentOnly.Describe());
        using (var json = JsonDocument.Parse(string.Join('\n', currentOnly.Stdout)))
        {
            Assert.False(json.RootElement.GetProperty("verified").GetBoolean());
        }

        var line = AssertOneErrorLine(currentOnly, "which no public key given or found here verifies"); // an unknown key, not a forgery
        Assert.Contains("give the earlier public keys too", line, StringComparison.Ordinal);
        Assert.DoesNotContain("row was edited", line, StringComparison.Ordinal);

        var withEarlier = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string>
        {
            ["Nv__Audit__SigningKeyPath"] = rotated,
            ["Nv__Audit__PreviousPublicKeysPath"] = Path.Combine(dir.Path, "audit-signing-key.pub.pem"),
        }, Timeout, "audit", "prove", entry);
        Assert.True(withEarlier.ExitCode == 0, withEarlier.Describe());
        using (var json = JsonDocument.Parse(string.Join('\n', withEarlier.Stdout)))
        {
            Assert.True(json.RootElement.GetProperty("verified").GetBoolean());
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

    private static long Checkpoints(string dataDir) =>
        (long)DataDirectoryScan.Scalar(AuditDb(dataDir), "SELECT COUNT(*) FROM audit_checkpoints")!;
}
