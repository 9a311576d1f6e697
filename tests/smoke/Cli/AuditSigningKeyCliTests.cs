using System.Security.Cryptography;
using System.Text.Json;
using Nv.Audit.Merkle;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The host signs its checkpoints with <c>NV_AUDIT_SIGNING_KEY</c>, which the operator's shell does not have: the
/// audit tools never make a key of their own. Reads report a checkpoint whose key they were not given as such, not as a
/// forgery, and write nothing; the commands that sign refuse without the host's key, and with another key.</summary>
public sealed class AuditSigningKeyCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static Task<NvRun> Nv(string dataDir, IReadOnlyDictionary<string, string>? env, params string[] args) =>
        NvProcess.RunAsync(dataDir, env, Timeout, args);

    /// <summary>Fails without the read-only key resolution: nv audit verify (a writer then) generated audit-signing-key.pem
    /// into the data directory and reported the intact trail as "BROKEN ... KeyMismatch ... (checkpoint forged or altered)",
    /// logging "The stored trail was altered"; query and history generated the key too.</summary>
    [Fact]
    public async Task Audit_reads_without_the_hosts_key_create_no_key_and_report_no_forgery()
    {
        using var dir = new TempDirectory("cli-keyread");
        using var keys = new TempDirectory("cli-keyread-keys");
        var (host, keyId, publicKeyFile) = HostKey(keys.Path);
        var load = await Nv(dir.Path, host, "load", "--count", "60", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "cli");
        Assert.True(load.ExitCode == 0, load.Describe());
        Assert.False(File.Exists(Path.Combine(dir.Path, "audit-signing-key.pem")));
        var entry = (string)DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"), "SELECT id FROM audit_entries WHERE sequence = 3")!;
        var before = DataDirectoryScan.Hashes(dir.Path, except: "logs");

        var verify = await Nv(dir.Path, null, "audit", "verify");
        Assert.True(verify.ExitCode == 5, verify.Describe());
        var line = Assert.Single(verify.Stdout, l => l.StartsWith("audit verify: ", StringComparison.Ordinal));
        Assert.StartsWith("audit verify: NOT VERIFIED:", line, StringComparison.Ordinal);
        Assert.Contains($"signed by key '{keyId}'", line, StringComparison.Ordinal);
        Assert.Contains("--public-key", line, StringComparison.Ordinal);
        Assert.DoesNotContain("forged", line, StringComparison.Ordinal);
        Assert.DoesNotContain(verify.Stderr, l => l.Contains("was altered", StringComparison.Ordinal) || l.Contains(" ERR]", StringComparison.Ordinal));

        var query = await Nv(dir.Path, null, "audit", "query", "--limit", "5");
        Assert.True(query.ExitCode == 0, query.Describe());
        var prove = await Nv(dir.Path, null, "audit", "prove", entry);
        Assert.True(prove.ExitCode == 5, prove.Describe());
        using (var json = JsonDocument.Parse(string.Join('\n', prove.Stdout)))
        {
            Assert.False(json.RootElement.GetProperty("verified").GetBoolean());
        }

        var proveLine = Assert.Single(prove.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
        Assert.Contains($"signed by key '{keyId}', which no public key given or found here verifies", proveLine, StringComparison.Ordinal);

        Assert.False(File.Exists(Path.Combine(dir.Path, "audit-signing-key.pem")));
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));

        // With the key, or only its public half, the same trail verifies.
        var withKey = await Nv(dir.Path, host, "audit", "verify");
        Assert.True(withKey.ExitCode == 0, withKey.Describe());
        var withPublic = await Nv(dir.Path, null, "audit", "verify", "--public-key", publicKeyFile);
        Assert.True(withPublic.ExitCode == 0, withPublic.Describe());
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));
    }

    /// <summary>Fails without AuditOptions.SignWithHostKeyOnly in the signing commands: after the host died with its chain
    /// grown past its last checkpoint, nv audit checkpoint in a shell without the host's key generated audit-signing-key.pem
    /// and signed a checkpoint with it into the insert-only trail (exit 0), and with a key file of its own it signed under
    /// that key; every later verify with the host's key then failed on that checkpoint.</summary>
    [Fact]
    public async Task Audit_checkpoint_archive_and_prune_without_the_hosts_key_refuse_and_write_nothing()
    {
        using var dir = new TempDirectory("cli-keysign");
        using var keys = new TempDirectory("cli-keysign-keys");
        var (host, keyId, _) = HostKey(keys.Path);
        // Killed after its third audit append: the chain grew past the last checkpoint, so a checkpoint now would sign.
        var killed = await Nv(dir.Path, new Dictionary<string, string>(host) { ["NV_CRASH_AT"] = "after-audit:3" },
            "load", "--count", "2000", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "cli");
        Assert.True(killed.ExitCode == NvProcess.KilledExitCode, killed.Describe());
        var checkpoints = Checkpoints(dir.Path);
        var before = DataDirectoryScan.Hashes(dir.Path, except: "logs");
        var archives = Path.Combine(keys.Path, "archives");

        string[][] signing =
        [
            ["audit", "checkpoint"],
            ["audit", "archive", "--before", "2100-01-01T00:00:00Z", "--out", archives],
            ["audit", "prune", "--before", "2100-01-01T00:00:00Z"],
        ];
        foreach (var args in signing)
        {
            var run = await Nv(dir.Path, null, args);
            Assert.True(run.ExitCode == 2, string.Join(' ', args) + ": " + run.Describe());
            var line = Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
            Assert.Contains("set NV_AUDIT_SIGNING_KEY or Nv:Audit:SigningKeyPath, as the host does", line, StringComparison.Ordinal);
            Assert.Empty(run.Stdout);
            Assert.False(File.Exists(Path.Combine(dir.Path, "audit-signing-key.pem")));
            Assert.False(Directory.Exists(archives));
            Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));
        }

        // A key of its own (another key file): refused as well, it would sign under a key id the host does not use.
        var stray = Path.Combine(keys.Path, "stray.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(stray, key.ExportPkcs8PrivateKeyPem());
        }

        var other = await Nv(dir.Path, new Dictionary<string, string> { ["Nv__Audit__SigningKeyPath"] = stray }, "audit", "checkpoint");
        Assert.True(other.ExitCode == 2, other.Describe());
        Assert.Contains($"is not the key the host signs", Assert.Single(other.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal)),
            StringComparison.Ordinal);
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path, except: "logs"));
        Assert.Equal(checkpoints, Checkpoints(dir.Path));

        // With the host's key it signs, and the trail verifies with that key.
        var signed = await Nv(dir.Path, host, "audit", "checkpoint");
        Assert.True(signed.ExitCode == 0, signed.Describe());
        Assert.True(Checkpoints(dir.Path) > checkpoints, "the host's key signed no checkpoint of the grown chain");
        var verify = await Nv(dir.Path, host, "audit", "verify");
        Assert.True(verify.ExitCode == 0, verify.Describe());
        Assert.Contains(verify.Stdout, l => l.StartsWith("audit verify: OK", StringComparison.Ordinal));
        Assert.Equal(keyId, SignedCheckpoint.Parse((string)DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"),
            "SELECT text FROM audit_checkpoints ORDER BY position DESC LIMIT 1")!).Checkpoint.KeyId);
    }

    /// <summary>Fails without AuditOptions.SignWithHostKeyIfAvailable in nv replay and nv erase: after the host died with its
    /// chain grown past its last checkpoint, nv replay in a shell without the host's key generated audit-signing-key.pem and
    /// signed a checkpoint of what it backfilled with it, nv erase did the same (and with a key file of its own signed under
    /// that key), and recorded its key as the host's in audit_environment, so verification with the host's key printed NOT
    /// VERIFIED for ever and nv audit checkpoint with the host's key was refused as "not the key the host signs with".
    /// Both now run, sign nothing, and the host's next checkpoint covers what they appended.</summary>
    [Fact]
    public async Task Replay_and_erase_without_the_hosts_key_run_sign_nothing_and_the_hosts_next_checkpoint_covers_them()
    {
        using var dir = new TempDirectory("cli-keypipe");
        using var keys = new TempDirectory("cli-keypipe-keys");
        var (hostKey, keyId, publicKeyFile) = HostKey(keys.Path);
        var master = Path.Combine(keys.Path, "master.key");
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        // The configuration every run shares (the host's and the shell's), with a checkpoint due every 5 entries so that a
        // replay's backfill and an erasure would each sign one.
        var shared = new Dictionary<string, string> { ["NV_MASTER_KEY_FILE"] = master, ["Nv__Audit__CheckpointEveryEntries"] = "5" };
        var host = new Dictionary<string, string>(shared) { ["NV_AUDIT_SIGNING_KEY"] = hostKey["NV_AUDIT_SIGNING_KEY"] };
        var killed = await Nv(dir.Path, new Dictionary<string, string>(host) { ["NV_CRASH_AT"] = "after-audit:3" },
            "load", "--count", "2000", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "cli");
        Assert.True(killed.ExitCode == NvProcess.KilledExitCode, killed.Describe());
        var audit = Path.Combine(dir.Path, "audit.db");
        var environmentChanges = DataDirectoryScan.Scalar(audit, "SELECT COUNT(*) FROM audit_entries WHERE category = 'environment-change'");
        var before = Entries(dir.Path);

        var replay = await Nv(dir.Path, shared, "replay");
        Assert.True(replay.ExitCode == 0, replay.Describe());
        Assert.True(Entries(dir.Path) > before, "the replay backfilled nothing: the test proves nothing");
        Assert.False(File.Exists(Path.Combine(dir.Path, "audit-signing-key.pem")), "nv replay generated a signing key");
        Assert.Equal([keyId], CheckpointKeyIds(dir.Path));

        // A key file of the shell's own is not the host's either: the erasure runs and signs nothing with it.
        var stray = Path.Combine(keys.Path, "stray.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(stray, key.ExportPkcs8PrivateKeyPem());
        }

        var erase = await Nv(dir.Path, new Dictionary<string, string>(shared) { ["Nv__Audit__SigningKeyPath"] = stray },
            "erase", "--dto-type", "Item", "--entity-id", "e1", "--reason", "ticket 5");
        Assert.True(erase.ExitCode == 0, erase.Describe());
        Assert.Contains(erase.Stdout, l => l.StartsWith("erased Item/e1: applied", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(dir.Path, "audit-signing-key.pem")));
        Assert.False(File.Exists(Path.Combine(dir.Path, "audit-signing-key.pub.pem")));
        Assert.Equal([keyId], CheckpointKeyIds(dir.Path));
        Assert.Equal(keyId, DataDirectoryScan.Scalar(audit, "SELECT value FROM audit_environment WHERE key = 'signingKeyId'"));
        Assert.Equal(environmentChanges, DataDirectoryScan.Scalar(audit, "SELECT COUNT(*) FROM audit_entries WHERE category = 'environment-change'"));
        Assert.Equal(0L, DataDirectoryScan.Scalar(audit, "SELECT COUNT(*) FROM audit_entries WHERE operation = 'checkpoint-failed'")); // not due: not failed
        var verify = await Nv(dir.Path, null, "audit", "verify", "--public-key", publicKeyFile);
        Assert.True(verify.ExitCode == 0, verify.Describe());

        // The host's key signs what they appended: one checkpoint covering every entry, and the whole trail verifies.
        var signed = await Nv(dir.Path, host, "audit", "checkpoint");
        Assert.True(signed.ExitCode == 0, signed.Describe());
        Assert.Equal([keyId], CheckpointKeyIds(dir.Path));
        Assert.Equal(Entries(dir.Path), DataDirectoryScan.Scalar(audit, "SELECT size FROM audit_checkpoints ORDER BY position DESC LIMIT 1"));
        var after = await Nv(dir.Path, null, "audit", "verify", "--public-key", publicKeyFile);
        Assert.True(after.ExitCode == 0, after.Describe());

        // Each said why it signed nothing.
        Assert.Contains(replay.Stderr, l => l.Contains("this process signs no checkpoint: it has no signing key", StringComparison.Ordinal));
        Assert.Contains(erase.Stderr, l => l.Contains($"is not the key the host signs {audit} with ({keyId}", StringComparison.Ordinal));
    }

    /// <summary>nv audit keys: where the host's key is set it prints its key id and SHA-256 fingerprint and writes its public
    /// half (and the previous keys) for nv audit verify --public-key; in a shell without it, exit 2 in one line naming the key
    /// the trail's checkpoints need, nothing written; the store is never taken as a source of keys to trust. New command:
    /// without it nv answers "Unrecognized command".</summary>
    [Fact]
    public async Task Audit_keys_exports_the_hosts_public_key_where_it_is_set_and_names_it_where_it_is_not()
    {
        using var dir = new TempDirectory("cli-keys");
        using var keys = new TempDirectory("cli-keys-keys");
        var (host, keyId, publicKeyFile) = HostKey(keys.Path);
        var load = await Nv(dir.Path, host, "load", "--count", "40", "--entities", "10", "--writers", "2", "--quiet", "--run-id", "cli");
        Assert.True(load.ExitCode == 0, load.Describe());
        var before = DataFiles(dir.Path);
        var exported = Path.Combine(keys.Path, "exported.pub.pem");

        var verify = await Nv(dir.Path, null, "audit", "verify");
        Assert.True(verify.ExitCode == 5, verify.Describe());
        Assert.Contains(verify.Stdout, l => l.StartsWith("audit verify: NOT VERIFIED", StringComparison.Ordinal)
            && l.Contains("nv audit keys --out FILE, run where that key is set", StringComparison.Ordinal));

        foreach (var args in new[] { new[] { "audit", "keys" }, ["audit", "keys", "--out", exported] })
        {
            var none = await Nv(dir.Path, null, args);
            Assert.True(none.ExitCode == 2, none.Describe());
            var line = Assert.Single(none.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
            Assert.Contains("no audit signing key here", line, StringComparison.Ordinal);
            Assert.Contains($"signed by key {keyId}", line, StringComparison.Ordinal);
            Assert.Empty(none.Stdout);
            Assert.False(File.Exists(exported));
        }

        var export = await Nv(dir.Path, host, "audit", "keys", "--out", exported);
        Assert.True(export.ExitCode == 0, export.Describe());
        var fingerprint = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(PublicKeyDer(File.ReadAllText(publicKeyFile))));
        Assert.Equal(keyId, fingerprint[7..23]); // the key id is the fingerprint's first 16 hex digits
        Assert.Contains($"key {keyId} {fingerprint} (NV_AUDIT_SIGNING_KEY)", export.Stdout);
        Assert.Contains(export.Stdout, l => l.StartsWith("chain 'nv': newest checkpoint", StringComparison.Ordinal) && l.EndsWith($"signed by key {keyId}: listed above", StringComparison.Ordinal));
        Assert.Equal(PublicKeyDer(File.ReadAllText(publicKeyFile)), PublicKeyDer(File.ReadAllText(exported)));
        Assert.Equal(before, DataFiles(dir.Path));

        // What it wrote verifies the trail in the shell; it never overwrites a file; a directory is refused.
        var withExported = await Nv(dir.Path, null, "audit", "verify", "--public-key", exported);
        Assert.True(withExported.ExitCode == 0, withExported.Describe());
        var written = File.ReadAllText(exported);
        var again = await Nv(dir.Path, host, "audit", "keys", "--out", exported);
        Assert.True(again.ExitCode == 2, again.Describe());
        Assert.Contains("never overwrites", Assert.Single(again.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(written, File.ReadAllText(exported));
        var intoDirectory = await Nv(dir.Path, host, "audit", "keys", "--out", keys.Path);
        Assert.True(intoDirectory.ExitCode == 2, intoDirectory.Describe());

        // A previous key (after a key change) is listed and exported too; --json carries the same.
        string previousId;
        var previousFile = Path.Combine(keys.Path, "previous.pub.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        using (var signer = CheckpointSigner.FromPem(key.ExportPkcs8PrivateKeyPem()))
        {
            File.WriteAllText(previousFile, signer.PublicKeyPem);
            previousId = signer.KeyId;
        }

        var both = Path.Combine(keys.Path, "both.pub.pem");
        var json = await Nv(dir.Path, new Dictionary<string, string>(host) { ["Nv__Audit__PreviousPublicKeysPath"] = previousFile },
            "audit", "keys", "--json", "--out", both);
        Assert.True(json.ExitCode == 0, json.Describe());
        using (var document = JsonDocument.Parse(string.Join('\n', json.Stdout)))
        {
            var listed = document.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("keyId").GetString()).ToList();
            Assert.Equal([keyId, previousId], listed);
            var chain = Assert.Single(document.RootElement.GetProperty("chains").EnumerateArray());
            Assert.True(chain.GetProperty("keyHere").GetBoolean());
        }

        using (var verifier = CheckpointVerifier.FromPublicKeyPem(File.ReadAllText(both)))
        {
            Assert.Equal(new[] { keyId, previousId }.Order(StringComparer.Ordinal), verifier.KeyIds.Order(StringComparer.Ordinal));
        }

        Assert.Equal(before, DataFiles(dir.Path));
    }

    // Every file but the logs and SQLite's shared-memory index, which a read-only reader may update (it holds no data).
    private static SortedDictionary<string, string> DataFiles(string dataDir)
    {
        var files = DataDirectoryScan.Hashes(dataDir, except: "logs");
        files.Remove("audit.db-shm");
        return files;
    }

    private static byte[] PublicKeyDer(string pem)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return key.ExportSubjectPublicKeyInfo();
    }

    private static long Entries(string dataDir) =>
        (long)DataDirectoryScan.Scalar(Path.Combine(dataDir, "audit.db"), "SELECT COUNT(*) FROM audit_entries")!;

    private static List<string> CheckpointKeyIds(string dataDir)
    {
        var keyIds = new SortedSet<string>(StringComparer.Ordinal);
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDir, "audit.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT text FROM audit_checkpoints";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            keyIds.Add(SignedCheckpoint.Parse(reader.GetString(0)).Checkpoint.KeyId);
        }

        return [.. keyIds];
    }

    private static long Checkpoints(string dataDir) =>
        (long)DataDirectoryScan.Scalar(Path.Combine(dataDir, "audit.db"), "SELECT COUNT(*) FROM audit_checkpoints")!;

    // A host key in NV_AUDIT_SIGNING_KEY (the environment of the host's runs only), its id and its public half in a file.
    private static (Dictionary<string, string> Env, string KeyId, string PublicKeyFile) HostKey(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        using var signer = CheckpointSigner.FromPem(pem);
        var publicKeyFile = Path.Combine(directory, "host.pub.pem");
        File.WriteAllText(publicKeyFile, signer.PublicKeyPem);
        return (new Dictionary<string, string> { ["NV_AUDIT_SIGNING_KEY"] = pem }, signer.KeyId, publicKeyFile);
    }
}
