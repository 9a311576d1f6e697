using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Nv.Audit;

namespace Nv.Integration.Tests.Audit;

/// <summary><see cref="AuditOptions.ReadOnly"/> (how <c>nv audit prove</c> opens the store): proofs, checkpoints and
/// verification read as usual, and nothing is written, neither by a call nor by the store's background work.</summary>
public sealed class SqliteAuditReadOnlyTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    [Fact]
    public async Task A_store_opened_read_only_proves_and_verifies_and_writes_nothing()
    {
        var entries = Entries(10);
        await Sink.AppendAsync(entries[..6], Ct);
        var signed = await Proofs.CheckpointAsync("orders", Ct);
        await Sink.AppendAsync(entries[6..], Ct); // the chain grew past its newest checkpoint
        Options.ReadOnly = true;
        Options.CheckpointInterval = TimeSpan.FromMilliseconds(1); // overdue at once: a writable store's idle tick signs it
        await ReopenAsync();
        var before = Files();

        var proof = (await Proofs.GetInclusionProofAsync(entries[2].Id, 6, Ct))!;
        Assert.True(proof.Verify());
        Assert.Equal(signed, proof.Checkpoint);
        var verification = await Proofs.VerifyAsync(null, Ct);
        Assert.True(verification.IsValid, verification.Reason);
        await Task.Delay(500, Ct); // several of the store's idle ticks

        await Assert.ThrowsAsync<InvalidOperationException>(() => Proofs.CheckpointAsync("orders", Ct)); // signs nothing
        var unsigned = (await Proofs.GetInclusionProofAsync(entries[8].Id, null, Ct))!; // no checkpoint covers it: none signed now
        Assert.Null(unsigned.Checkpoint);
        Assert.Equal(10, unsigned.TreeSize);
        Assert.True(unsigned.Verify());
        await Assert.ThrowsAsync<SqliteException>(() => Sink.AppendAsync(Entries(1), Ct));
        Assert.Equal(6, (await Proofs.GetLatestCheckpointAsync("orders", Ct))!.Checkpoint.TreeSize);
        Assert.Equal(before, Files());
    }

    [Fact]
    public async Task A_store_of_an_older_schema_is_refused_not_migrated_when_opened_read_only()
    {
        await Sink.AppendAsync(Entries(3), Ct);
        await Sink.DisposeAsync();
        using (var raw = Raw())
        {
            Execute(raw, "PRAGMA user_version = 4;");
        }

        Options.ReadOnly = true;
        var error = await Assert.ThrowsAsync<StoreSchemaException>(ReopenAsync);
        Assert.Equal((4L, 5L), (error.Version, error.ReadableVersion));
        Assert.Contains("migrates nothing: start the host (nv serve) or run nv replay once", error.Message, StringComparison.Ordinal);
        using var check = Raw();
        using var command = check.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        Assert.Equal(4L, command.ExecuteScalar());
    }

    /// <summary>Fails without the read-only key resolution: the opening looked for the private key, and a process without the
    /// host's key (NV_AUDIT_SIGNING_KEY in the host's environment only) failed to open (or, writable, generated a new key and
    /// reported every checkpoint as forged, KeyMismatch).</summary>
    [Fact]
    public async Task A_read_only_opening_given_no_key_generates_none_and_names_the_unknown_key_instead_of_a_forgery()
    {
        var entries = Entries(5);
        await Sink.AppendAsync(entries, Ct);
        var signed = (await Proofs.CheckpointAsync("orders", Ct))!;
        var publicKey = await Proofs.GetPublicKeyPemAsync(Ct);
        await Sink.DisposeAsync();
        // The host's key lives elsewhere (its environment): none in the data directory.
        File.Delete(Path.Combine(Directory, "audit-signing-key.pem"));
        File.Delete(Path.Combine(Directory, "audit-signing-key.pub.pem"));
        Options.ReadOnly = true;
        await ReopenAsync();
        var before = Files();

        Assert.Equal(string.Empty, await Proofs.GetTrustedPublicKeysPemAsync(Ct));
        var result = await Proofs.VerifyAsync(null, Ct);
        Assert.False(result.IsValid);
        Assert.Equal(signed.Checkpoint.KeyId, result.UnknownKeyId);
        Assert.Contains($"signed by key '{signed.Checkpoint.KeyId}'", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("forged", result.Reason, StringComparison.Ordinal);
        var withKey = await Proofs.VerifyAsync(new AuditVerifyOptions { PublicKeyPem = publicKey }, Ct);
        Assert.True(withKey.IsValid, withKey.Reason);
        Assert.Equal(signed, (await Proofs.GetInclusionProofAsync(entries[1].Id, null, Ct))!.Checkpoint);
        Assert.Equal(before, Files()); // no key generated, nothing written
    }

    // Every file of the store (the database, its SQLite WAL and shared-memory index, the keys) with the hash of its bytes.
    private SortedDictionary<string, string> Files() => new(
        System.IO.Directory.GetFiles(Directory)
            .ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);
}
