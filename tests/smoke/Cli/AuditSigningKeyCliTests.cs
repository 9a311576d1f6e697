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
