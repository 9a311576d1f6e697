using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Integration.Tests.Audit;

/// <summary>The tamper corpus of issue 6: each way of altering a checkpointed trail behind the store's back (triggers
/// dropped) is reported by <see cref="IAuditProofs.VerifyAsync"/> with its chain, position and reason.</summary>
public sealed class SqliteAuditTamperCorpusTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    private List<AuditEntry> _entries = [];

    // 5 "orders" entries and 3 "billing" entries, a signed checkpoint of each chain (orders at size 5), triggers dropped.
    private async Task<(SqliteConnection Raw, SignedCheckpoint Orders)> CheckpointedTrailAsync()
    {
        _entries = Entries(5);
        await Sink.AppendAsync(_entries, Ct);
        await Sink.AppendAsync(Entries(3, "billing"), Ct);
        var signed = await Proofs.CheckpointAllAsync(Ct);
        Assert.Equal(2, signed.Count);
        var raw = Raw();
        foreach (var table in new[] { "audit_entries", "audit_merkle_leaves", "audit_checkpoints" })
        {
            Execute(raw, $"DROP TRIGGER {table}_no_update; DROP TRIGGER {table}_no_delete;");
        }

        return (raw, signed.Single(c => c.Checkpoint.ChainId == "orders"));
    }

    private async Task<AuditVerification> AssertBrokenAsync(long? sequence, string reasonPart, AuditVerifyOptions? options = null)
    {
        var result = await Proofs.VerifyAsync(options, Ct);
        TestContext.Current.TestOutputHelper!.WriteLine($"{result.BrokenChain} #{result.BrokenSequence} (checkpoint {result.BrokenCheckpointSize}): {result.Reason}");
        Assert.False(result.IsValid);
        Assert.Equal("orders", result.BrokenChain);
        Assert.Equal(sequence, result.BrokenSequence);
        Assert.Contains(reasonPart, result.Reason, StringComparison.Ordinal);
        return result;
    }

    private const string Columns = Nv.Audit.Sqlite.SqliteAuditSchema.Columns;

    [Fact]
    public async Task Untouched_trail_verifies_with_its_checkpoints()
    {
        var (raw, orders) = await CheckpointedTrailAsync();
        using var _ = raw;
        var file = Path.Combine(Directory, "orders.checkpoint");
        orders.WriteToFile(file);
        var result = await Proofs.VerifyAsync(new AuditVerifyOptions { FromCheckpoint = SignedCheckpoint.ReadFromFile(file) }, Ct);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(8, result.EntriesChecked);
        Assert.Equal(3, result.CheckpointsChecked);
    }

    [Fact]
    public async Task Edited_field_is_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        Execute(raw, "UPDATE audit_entries SET reason = 'forged' WHERE service = 'orders' AND sequence = 3");
        await AssertBrokenAsync(3, "hash mismatch: entry edited");
    }

    [Fact]
    public async Task Edited_wal_record_hash_is_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        Execute(raw, $"UPDATE audit_entries SET wal_record_hash = '{new string('b', 64)}' WHERE service = 'orders' AND sequence = 2");
        await AssertBrokenAsync(2, "edited");
    }

    [Fact]
    public async Task Downgraded_encoding_version_is_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        Execute(raw, "UPDATE audit_entries SET encoding = 1 WHERE service = 'orders' AND sequence = 2");
        await AssertBrokenAsync(2, "encoding version 1 after version 2");
    }

    [Fact]
    public async Task Deleted_middle_entry_is_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        Execute(raw, "DELETE FROM audit_entries WHERE service = 'orders' AND sequence = 3");
        Execute(raw, "DELETE FROM audit_merkle_leaves WHERE chain = 'orders' AND idx = 2");
        await AssertBrokenAsync(4, "entry 3 is missing (entry deleted)");
    }

    [Fact]
    public async Task Deleted_newest_entries_are_reported_by_the_stored_checkpoint()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        // The hash chain alone cannot see this: entries 1..3 still link perfectly.
        Execute(raw, "DELETE FROM audit_entries WHERE service = 'orders' AND sequence >= 4");
        Execute(raw, "DELETE FROM audit_merkle_leaves WHERE chain = 'orders' AND idx >= 3");
        var result = await AssertBrokenAsync(4, "entries 4..5 are missing");
        Assert.Contains("newest entries deleted", result.Reason, StringComparison.Ordinal);
        Assert.Equal(5, result.BrokenCheckpointSize);
    }

    [Fact]
    public async Task Deleted_newest_entries_and_checkpoints_are_reported_by_an_external_checkpoint()
    {
        var (raw, orders) = await CheckpointedTrailAsync();
        using var __ = raw;
        var file = Path.Combine(Directory, "orders.checkpoint");
        orders.WriteToFile(file);
        Execute(raw, "DELETE FROM audit_entries WHERE service = 'orders' AND sequence >= 5");
        Execute(raw, "DELETE FROM audit_merkle_leaves WHERE chain = 'orders' AND idx >= 4");
        Execute(raw, "DELETE FROM audit_checkpoints WHERE chain = 'orders'");
        Assert.True((await Proofs.VerifyAsync(null, Ct)).IsValid, "without an anchor, a clean truncation is invisible");
        var result = await AssertBrokenAsync(5, "external checkpoint: entry 5 is missing", new AuditVerifyOptions { FromCheckpoint = SignedCheckpoint.ReadFromFile(file) });
        Assert.Equal(5, result.BrokenCheckpointSize);
    }

    [Fact]
    public async Task Reordered_entries_are_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        Execute(raw, "UPDATE audit_entries SET sequence = 1000 WHERE service = 'orders' AND sequence = 2");
        Execute(raw, "UPDATE audit_entries SET sequence = 2 WHERE service = 'orders' AND sequence = 3");
        Execute(raw, "UPDATE audit_entries SET sequence = 3 WHERE service = 'orders' AND sequence = 1000");
        await AssertBrokenAsync(2, "reordered");
    }

    [Fact]
    public async Task Forged_entry_inserted_is_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        for (var seq = 5; seq >= 3; seq--)
        {
            Execute(raw, $"UPDATE audit_entries SET sequence = {seq + 1} WHERE service = 'orders' AND sequence = {seq}");
        }

        var previous = (await Sink.GetAsync(_entries[1].Id, Ct))!;
        var forged = Entry(entityId: "forged") with { Sequence = 3, PrevHash = previous.Hash, EncodingVersion = 2 };
        forged = forged with { Hash = AuditHash.Compute(forged) };
        Execute(raw, $"INSERT INTO audit_entries ({Columns}) SELECT '{forged.Id:D}', timestamp, service, category, operation, user_id, dto_type, " +
            $"'forged', before_json, after_json, changes_json, reason, metadata_json, request_id, lsn, 3, '{forged.PrevHash}', '{forged.Hash}', " +
            "NULL, 2, NULL, NULL FROM audit_entries WHERE service = 'orders' AND sequence = 2");
        var result = await Proofs.VerifyAsync(null, Ct);
        Assert.False(result.IsValid);
        Assert.Equal("orders", result.BrokenChain);
        Assert.InRange(result.BrokenSequence!.Value, 3, 4);
    }

    [Fact]
    public async Task History_rewritten_with_recomputed_hashes_is_reported_by_the_checkpoint()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        // The attacker edits entry 2 and recomputes every hash and leaf after it: the chain verifies again.
        var scratch = new System.Buffers.ArrayBufferWriter<byte>();
        var prev = (await Sink.GetAsync(_entries[0].Id, Ct))!.Hash;
        for (var i = 1; i < 5; i++)
        {
            var stored = (await Sink.GetAsync(_entries[i].Id, Ct))!;
            var edited = stored with { Reason = i == 1 ? "forged" : stored.Reason, PrevHash = prev };
            var hash = AuditHash.Compute(edited, scratch, out var leaf);
            Execute(raw, $"UPDATE audit_entries SET reason = '{edited.Reason}', prev_hash = '{prev}', hash = '{hash}' WHERE id = '{stored.Id:D}'");
            Execute(raw, $"UPDATE audit_merkle_leaves SET hash = x'{leaf.ToHex()}' WHERE chain = 'orders' AND idx = {i}");
            prev = hash;
        }

        var result = await AssertBrokenAsync(1, "Merkle root mismatch");
        Assert.Equal(5, result.BrokenCheckpointSize);
    }

    [Fact]
    public async Task Replaced_checkpoint_signature_is_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        var billing = SignedCheckpoint.Parse((string)new SqliteCommand("SELECT text FROM audit_checkpoints WHERE chain = 'billing'", raw).ExecuteScalar()!);
        var signature = Convert.ToBase64String(billing.Signature.AsSpan());
        Execute(raw, "UPDATE audit_checkpoints SET text = substr(text, 1, instr(text, 'signature: ') + 10) || '" + signature + "' || char(10) " +
            "WHERE chain = 'orders'");
        var result = await AssertBrokenAsync(null, "signature does not verify (SignatureMismatch");
        Assert.Equal(5, result.BrokenCheckpointSize);
    }

    [Fact]
    public async Task Checkpoint_re_signed_with_another_key_is_reported_against_the_auditors_key()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        var auditorKey = await Proofs.GetPublicKeyPemAsync(Ct);
        using var forger = CheckpointSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var forged = forger.Sign("orders", 5, MerkleHasher.EmptyRoot, DateTimeOffset.UtcNow);
        Execute(raw, $"UPDATE audit_checkpoints SET text = '{forged.ToText()}' WHERE chain = 'orders'");
        await AssertBrokenAsync(null, "KeyMismatch", new AuditVerifyOptions { PublicKeyPem = auditorKey });
    }

    [Fact]
    public async Task Altered_merkle_leaf_is_reported()
    {
        var (raw, _) = await CheckpointedTrailAsync();
        using var __ = raw;
        Execute(raw, "UPDATE audit_merkle_leaves SET hash = zeroblob(32) WHERE chain = 'orders' AND idx = 1");
        await AssertBrokenAsync(2, "leaf table altered");
    }
}
