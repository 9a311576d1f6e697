using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;
using Nv.Wal.Protection;

namespace Nv.Integration.Tests.Audit;

/// <summary>Audit entries sealed under their subject's data key (encryption at rest, encoding version 3) in a real SQLite
/// audit store: they round-trip, commit to the ciphertext and key id, stay verifiable with every proof after their key is
/// destroyed (erasure), read as erased, and tampering with the ciphertext or the key id is found.</summary>
public sealed class SqliteAuditSealedTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    private readonly Keys _keys = new();

    private sealed class Keys : IDataKeyProvider
    {
        private readonly Dictionary<Guid, DataKey> _keys = [];

        public DataKey Add()
        {
            var key = DataKey.Generate();
            _keys[key.Id] = key;
            return key;
        }

        public void Destroy(Guid id) => _keys.Remove(id);

        public bool TryGetKey(Guid keyId, [NotNullWhen(true)] out DataKey? key) => _keys.TryGetValue(keyId, out key);
    }

    private static AuditEntry Secret(string entityId) => Entry(entityId: entityId) with
    {
        Before = Json("""{"name":"Hilda Whitcher","ssn":"078-05-1120"}"""),
        After = Json("""{"name":"Hilda Whitcher","ssn":"078-05-1121"}"""),
        Changes = [new FieldChange("/ssn", Json("\"078-05-1120\""), Json("\"078-05-1121\""))],
    };

    private async Task<(List<AuditEntry> Plain, List<AuditEntry> Ada, List<AuditEntry> Bob, DataKey AdaKey)> TrailAsync()
    {
        var adaKey = _keys.Add();
        var bobKey = _keys.Add();
        var plain = Entries(3); // written before encryption was turned on: encoding 2
        await Sink.AppendAsync(plain, Ct);
        var ada = Enumerable.Range(0, 4).Select(i => AuditEntrySealing.Seal(Secret("ada-" + i), adaKey)).ToList();
        var bob = Enumerable.Range(0, 3).Select(i => AuditEntrySealing.Seal(Secret("bob-" + i), bobKey)).ToList();
        await Sink.AppendAsync([ada[0], bob[0], ada[1]], Ct);
        await Sink.AppendAsync([.. Entries(2), bob[1], ada[2], ada[3], bob[2]], Ct); // plain entries after sealed ones: encoding 3
        return (plain, ada, bob, adaKey);
    }

    private byte[] FileBytes() => [.. System.IO.Directory.GetFiles(Directory, "audit.db*").SelectMany(File.ReadAllBytes)];

    [Fact]
    public async Task Sealed_entries_round_trip_and_hold_no_plaintext_in_the_store()
    {
        var (plain, ada, _, adaKey) = await TrailAsync();
        var original = Secret("ada-1");

        var stored = (await Sink.GetAsync(ada[1].Id, Ct))!;
        Assert.Equal(3, stored.EncodingVersion);
        Assert.Equal(adaKey.Id, stored.KeyId);
        Assert.Equal(ada[1].Sealed, stored.Sealed);
        Assert.Null(stored.Before);
        Assert.Null(stored.After);
        Assert.Empty(stored.Changes);

        var opened = AuditEntrySealing.Open(stored, adaKey);
        Assert.False(opened.Erased);
        Assert.Equal(original.Before!.Value.GetRawText(), opened.Before!.Value.GetRawText());
        Assert.Equal(original.After!.Value.GetRawText(), opened.After!.Value.GetRawText());
        Assert.Equal("/ssn", Assert.Single(opened.Changes).Path);
        Assert.Equal("\"078-05-1121\"", opened.Changes[0].After!.Value.GetRawText());
        // Opening does not change what the entry hashes to.
        Assert.Equal(stored.Hash, AuditHash.Compute(opened));

        var page = AuditEntrySealing.OpenWith(await Sink.QueryAsync(new AuditQuery { EntityId = "ada-2", Limit = 10 }, Ct), _keys);
        Assert.Equal("Hilda Whitcher", Assert.Single(page.Entries).After!.Value.GetProperty("name").GetString());
        Assert.Equal(2, (await Sink.GetAsync(plain[0].Id, Ct))!.EncodingVersion);

        await Sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        var bytes = FileBytes();
        Assert.True(bytes.AsSpan().IndexOf("paid"u8) >= 0); // plain entries are plain
        Assert.True(bytes.AsSpan().IndexOf("Whitcher"u8) < 0);
        Assert.True(bytes.AsSpan().IndexOf("078-05-112"u8) < 0);
        await ReopenAsync();
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task After_the_key_is_destroyed_the_trail_verifies_every_proof_holds_and_the_entries_read_as_erased()
    {
        var (_, ada, bob, adaKey) = await TrailAsync();
        var checkpoint = (await Proofs.CheckpointAsync("orders", Ct))!;
        var before = await Proofs.GetInclusionProofAsync(ada[2].Id, cancellationToken: Ct);

        _keys.Destroy(adaKey.Id); // what an erasure does: the key is gone, the ciphertext stays
        await ReopenAsync();

        var verified = await Proofs.VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal(12, verified.EntriesChecked);
        using var verifier = CheckpointVerifier.FromPublicKeyPem(await Proofs.GetPublicKeyPemAsync(Ct));
        Assert.True(verifier.Verify(checkpoint).IsValid);

        foreach (var entry in ada.Concat(bob))
        {
            var stored = (await Sink.GetAsync(entry.Id, Ct))!;
            var proof = (await Proofs.GetInclusionProofAsync(entry.Id, cancellationToken: Ct))!;
            Assert.True(proof.Verify());
            Assert.Equal(MerkleHasher.HashLeaf(AuditCanonicalEncoding.Encode(stored)), proof.LeafHash);
            Assert.Equal(checkpoint.Checkpoint.RootHash, proof.Root);
        }

        Assert.Equal(before!.LeafHash, (await Proofs.GetInclusionProofAsync(ada[2].Id, cancellationToken: Ct))!.LeafHash);
        foreach (var (from, to) in new[] { (1, 12), (4, 12), (7, 12), (12, 12) })
        {
            Assert.True((await Proofs.GetConsistencyProofAsync("orders", from, to, Ct)).Verify(), $"{from}->{to}");
        }

        var erased = AuditEntrySealing.OpenWith((await Sink.GetAsync(ada[0].Id, Ct))!, _keys);
        Assert.True(erased.Erased);
        Assert.Null(erased.Before);
        Assert.Null(erased.After);
        Assert.Empty(erased.Changes);
        Assert.Equal("ada-0", erased.EntityId); // the envelope (who, when, what kind, which entity) stays
        var alive = AuditEntrySealing.OpenWith((await Sink.GetAsync(bob[0].Id, Ct))!, _keys);
        Assert.False(alive.Erased);
        Assert.NotNull(alive.After);
        Assert.True(AuditEntrySealing.OpenWith((await Sink.GetAsync(bob[0].Id, Ct))!, null).Erased); // no keys at all: unreadable
    }

    [Fact]
    public async Task An_entry_born_after_its_key_was_destroyed_holds_no_data_and_verifies()
    {
        var entry = AuditEntrySealing.SealedWithoutData(Secret("gone"), Guid.NewGuid());
        await Sink.AppendAsync([entry, Entry()], Ct);
        var stored = (await Sink.GetAsync(entry.Id, Ct))!;
        Assert.Equal(entry.KeyId, stored.KeyId);
        Assert.Null(stored.Sealed);
        Assert.True(AuditEntrySealing.OpenWith(stored, _keys).Erased);
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task The_reference_verifier_checks_sealed_and_erased_entries_and_finds_a_flipped_ciphertext_byte()
    {
        var (_, _, _, adaKey) = await TrailAsync();
        _keys.Destroy(adaKey.Id);
        await Sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        SqliteAuditCompressionTests.AssertPythonVerifierSays(FilePath, "OK 12 entries");

        using (var raw = Raw())
        {
            Execute(raw, "DROP TRIGGER audit_entries_no_update;");
            Execute(raw, "UPDATE audit_entries SET sealed = CAST(zeroblob(40) AS BLOB) WHERE service = 'orders' AND sequence = 10");
        }

        SqliteConnection.ClearAllPools();
        SqliteAuditCompressionTests.AssertPythonVerifierSays(FilePath, "BROKEN orders #10: hash mismatch");
        await ReopenAsync();
    }

    [Fact]
    public async Task Sealed_entries_archive_prune_and_prove_from_their_archive_after_their_key_is_destroyed()
    {
        var (_, ada, _, adaKey) = await TrailAsync();
        var retention = (Nv.Audit.Archive.IAuditRetention)Sink;
        var archiveDir = Path.Combine(Directory, "archives");
        var cutoff = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero); // after every entry of the trail
        var archive = Assert.Single(await retention.ArchiveAsync(cutoff, archiveDir, Ct));
        _keys.Destroy(adaKey.Id);
        await retention.PruneAsync(cutoff, Ct);
        Assert.Null(await Sink.GetAsync(ada[1].Id, Ct));

        var publicKey = await Proofs.GetPublicKeyPemAsync(Ct);
        var verified = Nv.Audit.Archive.AuditArchives.Verify(archive.FilePath, publicKey);
        Assert.True(verified.IsValid, verified.Reason);
        var proof = Nv.Audit.Archive.AuditArchives.Prove(archive.FilePath, ada[1].Id, publicKey)!;
        Assert.True(proof.Verify());
        var store = await Proofs.VerifyAsync(null, Ct);
        Assert.True(store.IsValid, store.Reason);
        await using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(archive.FilePath), System.IO.Compression.CompressionMode.Decompress))
        using (var reader = new StreamReader(gz))
        {
            var text = await reader.ReadToEndAsync(Ct);
            Assert.Contains("\"keyId\"", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Whitcher", text, StringComparison.Ordinal);
        }

        SqliteAuditCompressionTests.AssertPythonVerifierSays("--archive", archive.FilePath, "OK 12 entries");

        // Corrupted input: a sealed value changed in the archive (one base64 character), or a key id swapped, is found.
        foreach (var (name, edit) in new (string, Func<string, string>)[]
        {
            ("ciphertext", text => System.Text.RegularExpressions.Regex.Replace(text, "\"sealed\":\"(.)", m => "\"sealed\":\"" + (m.Groups[1].Value == "A" ? "B" : "A"), System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(5))),
            ("key id", text => text.Replace(adaKey.Id.ToString("D"), Guid.NewGuid().ToString("D"), StringComparison.Ordinal)),
        })
        {
            var damaged = Path.Combine(Directory, "damaged-" + name.Replace(' ', '-') + ".nvarchive");
            string original;
            await using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(archive.FilePath), System.IO.Compression.CompressionMode.Decompress))
            using (var reader = new StreamReader(gz))
            {
                original = await reader.ReadToEndAsync(Ct);
            }

            var changed = edit(original);
            Assert.NotEqual(original, changed);
            await using (var output = new System.IO.Compression.GZipStream(File.Create(damaged), System.IO.Compression.CompressionLevel.Fastest))
            {
                await output.WriteAsync(System.Text.Encoding.UTF8.GetBytes(changed), Ct);
            }

            var result = Nv.Audit.Archive.AuditArchives.Verify(damaged, publicKey);
            Assert.False(result.IsValid, name);
            SqliteAuditCompressionTests.AssertPythonVerifierSays("--archive", damaged, "BROKEN");
        }
    }

    private async Task<SqliteConnection> TamperableAsync()
    {
        await TrailAsync();
        var raw = Raw();
        Execute(raw, "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;");
        return raw;
    }

    private async Task AssertBrokenAsync(long sequence, string reasonPart)
    {
        var result = await Sink.VerifyAsync(Ct);
        Assert.False(result.IsValid);
        Assert.Equal("orders", result.BrokenChain);
        Assert.Equal(sequence, result.BrokenSequence);
        Assert.Contains(reasonPart, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flipped_ciphertext_byte_is_detected_by_verify_and_refused_by_open()
    {
        using var raw = await TamperableAsync();
        byte[] sealedBytes;
        using (var read = raw.CreateCommand())
        {
            read.CommandText = "SELECT sealed FROM audit_entries WHERE service = 'orders' AND sequence = 6";
            sealedBytes = (byte[])read.ExecuteScalar()!;
        }

        sealedBytes[sealedBytes.Length / 2] ^= 0x01;
        using (var write = raw.CreateCommand())
        {
            write.CommandText = "UPDATE audit_entries SET sealed = $s WHERE service = 'orders' AND sequence = 6";
            write.Parameters.AddWithValue("$s", sealedBytes);
            Assert.Equal(1, write.ExecuteNonQuery());
        }

        await AssertBrokenAsync(6, "hash mismatch");
        var stored = (await Sink.QueryAsync(new AuditQuery { Service = "orders", Ascending = true, Limit = 20 }, Ct)).Entries.Single(e => e.Sequence == 6);
        Assert.True(_keys.TryGetKey(stored.KeyId!.Value, out var key));
        Assert.Throws<PayloadSealException>(() => AuditEntrySealing.Open(stored, key));
    }

    [Fact]
    public async Task A_swapped_key_id_is_detected_by_verify()
    {
        using var raw = await TamperableAsync();
        // Sequences 4 (ada) and 5 (bob) are sealed under different keys: swap their key ids.
        Execute(raw, "UPDATE audit_entries SET key_id = (SELECT key_id FROM audit_entries WHERE service = 'orders' AND sequence = 5) " +
            "WHERE service = 'orders' AND sequence = 4");
        await AssertBrokenAsync(4, "hash mismatch");
    }

    [Theory]
    [InlineData("sealed = NULL", "hash mismatch")] // ciphertext dropped to fake an erasure
    [InlineData("key_id = NULL, sealed = NULL, encoding = 2", "edited")] // turned into a plain entry
    [InlineData("before_json = '{\"name\":\"someone else\"}'", "plain data beside its ciphertext")]
    [InlineData("key_id = 'not-a-key-id'", "edited")]
    [InlineData("encoding = 4", "edited")]
    public async Task Corrupted_sealed_rows_are_reported(string assignment, string reasonPart)
    {
        using var raw = await TamperableAsync();
        Execute(raw, $"UPDATE audit_entries SET {assignment} WHERE service = 'orders' AND sequence = 6");
        await AssertBrokenAsync(6, reasonPart);
    }

    [Fact]
    public async Task A_sealed_entry_moved_to_another_entry_does_not_open()
    {
        var key = _keys.Add();
        var a = AuditEntrySealing.Seal(Secret("a"), key);
        var b = AuditEntrySealing.Seal(Secret("b"), key);
        Assert.Throws<PayloadSealException>(() => AuditEntrySealing.Open(b with { Sealed = a.Sealed }, key));
        var other = _keys.Add();
        Assert.Throws<PayloadSealException>(() => AuditEntrySealing.Open(a with { KeyId = other.Id }, other));
        Assert.True(AuditEntrySealing.OpenWith(b with { Sealed = a.Sealed }, _keys).Erased); // readers show it as unreadable
        Assert.DoesNotContain("Whitcher", Encoding.UTF8.GetString(a.Sealed!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_schema_3_store_is_migrated_and_its_chain_continues_with_sealed_entries()
    {
        var plain = Entries(4);
        await Sink.AppendAsync(plain, Ct);
        await Sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        // Back to the schema the previous release wrote (3: no key_id, no sealed), with the rows it wrote.
        using (var raw = Raw())
        {
            Execute(raw, "ALTER TABLE audit_entries DROP COLUMN sealed; ALTER TABLE audit_entries DROP COLUMN key_id; PRAGMA user_version = 3;");
        }

        SqliteConnection.ClearAllPools();
        await ReopenAsync();
        var key = _keys.Add();
        var sealedEntries = new[] { AuditEntrySealing.Seal(Secret("s-1"), key), AuditEntrySealing.Seal(Secret("s-2"), key) };
        await Sink.AppendAsync(sealedEntries, Ct);
        await Sink.AppendAsync(Entries(1), Ct);
        Assert.Equal(2, (await Sink.GetAsync(plain[3].Id, Ct))!.EncodingVersion);
        Assert.Equal(3, (await Sink.GetAsync(sealedEntries[0].Id, Ct))!.EncodingVersion);
        var verified = await Proofs.VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal(7, verified.EntriesChecked);
        Assert.True((await Proofs.GetInclusionProofAsync(plain[1].Id, cancellationToken: Ct))!.Verify());
        Assert.True((await Proofs.GetConsistencyProofAsync("orders", 4, 7, Ct)).Verify());
        await Sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        using var check = Raw();
        using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal((long)Nv.Audit.Sqlite.SqliteAuditSchema.Version, version.ExecuteScalar());
        await ReopenAsync();
    }
}
