using System.IO.Compression;
using System.Text;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Archive;
using Nv.Audit.Merkle;
using Nv.Audit.Sqlite;

namespace Nv.Integration.Tests.Audit;

/// <summary>Archives and retention on the real SQLite store: archives verify offline (and their entries can be proven from
/// them alone), pruning keeps every proof and verification of what remains working, only verified archived ranges are ever
/// deleted, and a crash at each step of an archive or a prune converges.</summary>
public sealed class SqliteAuditArchiveTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private string ArchiveDir => Path.Combine(Directory, "archives");

    private SqliteAuditSink Store => (SqliteAuditSink)Sink;

    private IAuditRetention Retention => (IAuditRetention)Sink;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    // count entries one minute apart from T0 (timestamps T0+0 .. T0+(count-1) minutes), in chain "orders".
    private async Task<List<AuditEntry>> AppendAsync(int count, int startMinute = 0)
    {
        var entries = Enumerable.Range(startMinute, count)
            .Select(i => Entry(entityId: "o-" + (i % 7), timestamp: T0.AddMinutes(i), requestId: "req-" + i))
            .ToList();
        await Sink.AppendAsync(entries, Ct);
        return entries;
    }

    [Fact]
    public async Task An_archive_verifies_offline_and_proves_its_entries_against_its_own_checkpoint()
    {
        var entries = await AppendAsync(50);
        var archive = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(30), ArchiveDir, Ct));

        Assert.Equal(("orders", 1L, 30L), (archive.Chain, archive.FirstSequence, archive.LastSequence));
        Assert.Equal(T0.AddMinutes(29), archive.LastTimestamp);
        var verified = AuditArchives.Verify(archive.FilePath, await Proofs.GetPublicKeyPemAsync(Ct));
        Assert.True(verified.IsValid, verified.Reason);
        Assert.True(verified.KeyPinned);
        Assert.Equal(30, verified.EntriesChecked);
        Assert.Equal(archive.Checkpoint, verified.Checkpoint);

        var proof = AuditArchives.Prove(archive.FilePath, entries[12].Id);
        Assert.NotNull(proof);
        Assert.True(proof.Verify());
        Assert.Equal(30, proof.TreeSize);
        Assert.Equal(archive.Checkpoint.Checkpoint.RootHash, proof.Root);
        // The same proof as the store gives for the same tree size.
        var fromStore = await Proofs.GetInclusionProofAsync(entries[12].Id, 30, Ct);
        Assert.Equal(fromStore!.Path.Path, proof.Path.Path);
        Assert.Null(AuditArchives.Prove(archive.FilePath, entries[40].Id));
    }

    [Fact]
    public async Task Pruning_keeps_every_proof_and_verification_of_what_remains_and_archived_entries_prove_from_their_archives()
    {
        var entries = await AppendAsync(60);
        var before = await Proofs.CheckpointAsync("orders", Ct); // a checkpoint over everything, kept outside
        var first = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(20), ArchiveDir, Ct));
        var second = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(45), ArchiveDir, Ct));
        Assert.Equal((21L, 45L), (second.FirstSequence, second.LastSequence));

        var pruned = await Retention.PruneAsync(T0.AddMinutes(50), Ct);

        Assert.Equal(new[] { (1L, 20L), (21L, 45L) }, pruned.Select(p => (p.FromSequence, p.ThroughSequence)));
        Assert.Null(await Sink.GetAsync(entries[0].Id, Ct));
        Assert.Null(await Sink.GetAsync(entries[44].Id, Ct));
        Assert.NotNull(await Sink.GetAsync(entries[45].Id, Ct));
        var verified = await Proofs.VerifyAsync(new AuditVerifyOptions { FromCheckpoint = before }, Ct);
        Assert.True(verified.IsValid, verified.Reason);

        // What remains proves as before; the tree still has every leaf, so consistency across the pruned range holds.
        var remaining = await Proofs.GetInclusionProofAsync(entries[50].Id, null, Ct);
        Assert.True(remaining!.Verify());
        var consistency = await Proofs.GetConsistencyProofAsync("orders", 10, 60, Ct);
        Assert.True(consistency.Proof.Verify(consistency.FromRoot, consistency.ToRoot));
        // A pruned entry proves from its archive, against a checkpoint consistent with the store's tree.
        var archived = AuditArchives.Prove(second.FilePath, entries[30].Id, await Proofs.GetPublicKeyPemAsync(Ct))!;
        Assert.True(archived.Verify());
        var link = await Proofs.GetConsistencyProofAsync("orders", 45, 60, Ct);
        Assert.Equal(archived.Root, link.FromRoot);

        // The prune is in the trail, and new entries go on linking to the kept hash.
        var prunedEntries = await Sink.QueryAsync(new AuditQuery { Category = AuditCategory.SystemEvents, Operation = "audit-pruned" }, Ct);
        Assert.Equal(2, prunedEntries.Entries.Count);
        await AppendAsync(3, startMinute: 100);
        await ReopenAsync();
        var again = await Proofs.VerifyAsync(null, Ct);
        Assert.True(again.IsValid, again.Reason);
        Assert.Empty(await Retention.PruneAsync(T0.AddMinutes(50), Ct));
    }

    [Fact]
    public async Task Only_archived_entries_can_be_deleted_and_a_deletion_without_the_marker_is_reported()
    {
        await AppendAsync(10);
        using var raw = Raw();
        var refused = Assert.Throws<SqliteException>(() => Execute(raw, "DELETE FROM audit_entries WHERE sequence = 3"));
        Assert.Contains(SqliteAuditSchema.ImmutableMessage, refused.Message, StringComparison.Ordinal);

        await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct);
        Assert.Equal(1, Execute(raw, "DELETE FROM audit_entries WHERE sequence = 3")); // archived: the trigger lets it pass
        Assert.Throws<SqliteException>(() => Execute(raw, "DELETE FROM audit_entries WHERE sequence = 7"));

        var verified = await Proofs.VerifyAsync(null, Ct);
        Assert.False(verified.IsValid);
        Assert.Equal(4, verified.BrokenSequence);
        Assert.Contains("entry 3 is missing", verified.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edited_pruned_marker_or_a_prune_past_the_archives_is_reported()
    {
        await AppendAsync(10);
        await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct);
        await Retention.PruneAsync(T0.AddMinutes(6), Ct);
        using (var raw = Raw())
        {
            Execute(raw, "UPDATE audit_pruned SET last_hash = '" + new string('a', 64) + "'");
        }

        var edited = await Proofs.VerifyAsync(null, Ct);
        Assert.False(edited.IsValid);
        Assert.Equal(6, edited.BrokenSequence);

        using (var raw = Raw())
        {
            // Past the archive: entries 6..8 deleted behind the store's back, the marker moved over them.
            Execute(raw, "DROP TRIGGER audit_entries_no_delete; DELETE FROM audit_entries WHERE sequence BETWEEN 6 AND 8;");
            Execute(raw, "UPDATE audit_pruned SET through = 8, last_hash = (SELECT prev_hash FROM audit_entries WHERE sequence = 9)");
        }

        var beyond = await Proofs.VerifyAsync(null, Ct);
        Assert.False(beyond.IsValid);
        Assert.Contains("no recorded archive holds them", beyond.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_changed_after_it_was_recorded_is_not_pruned_from()
    {
        var entries = await AppendAsync(10);
        var archive = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct));
        File.AppendAllText(archive.FilePath, "x");

        Assert.Empty(await Retention.PruneAsync(T0.AddMinutes(6), Ct));
        Assert.NotNull(await Sink.GetAsync(entries[0].Id, Ct));

        File.Delete(archive.FilePath);
        Assert.Empty(await Retention.PruneAsync(T0.AddMinutes(6), Ct));
        Assert.NotNull(await Sink.GetAsync(entries[0].Id, Ct));
    }

    [Theory]
    [InlineData("edit-entry", "hash mismatch")]
    [InlineData("edit-entry-and-hashes", "Merkle root mismatch")]
    [InlineData("drop-entry", "sequence gap")]
    [InlineData("drop-end", "without its end line")]
    [InlineData("edit-checkpoint", "signature does not verify")]
    [InlineData("edit-frontier", "Merkle root mismatch")]
    [InlineData("not-gzip", "damaged or not an archive")]
    [InlineData("other-key", "signature does not verify")]
    public async Task A_damaged_or_forged_archive_does_not_verify(string damage, string reason)
    {
        await AppendAsync(20);
        await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct); // a first range, so the second has a frontier
        var archive = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(15), ArchiveDir, Ct));
        var key = await Proofs.GetPublicKeyPemAsync(Ct);
        Assert.True(AuditArchives.Verify(archive.FilePath, key).IsValid);
        var lines = ReadLines(archive.FilePath);
        switch (damage)
        {
            case "edit-entry":
                lines[3] = lines[3].Replace("\"reason\":\"test\"", "\"reason\":\"edited\"", StringComparison.Ordinal);
                break;
            case "edit-entry-and-hashes":
                lines = Rehash(lines, 3, l => l.Replace("\"reason\":\"test\"", "\"reason\":\"edited\"", StringComparison.Ordinal));
                break;
            case "drop-entry":
                lines.RemoveAt(4);
                break;
            case "drop-end":
                lines.RemoveAt(lines.Count - 1);
                break;
            case "edit-checkpoint":
                lines[^1] = lines[^1].Replace("time: 20", "time: 19", StringComparison.Ordinal);
                break;
            case "edit-frontier":
                var frontier = lines[0].IndexOf("\"frontier\":[\"", StringComparison.Ordinal) + 13;
                lines[0] = lines[0][..frontier] + (lines[0][frontier] == 'a' ? 'b' : 'a') + lines[0][(frontier + 1)..];
                break;
            case "not-gzip":
                File.WriteAllText(archive.FilePath, "not an archive");
                break;
            case "other-key":
                using (var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
                {
                    key = other.ExportSubjectPublicKeyInfoPem();
                }

                break;
        }

        if (damage is not ("not-gzip" or "other-key"))
        {
            WriteLines(archive.FilePath, lines);
        }

        var result = AuditArchives.Verify(archive.FilePath, key);
        Assert.False(result.IsValid);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_crash_after_the_temp_file_is_written_converges_on_the_next_run()
    {
        await AppendAsync(10);
        Store.StepHook = point => { if (point == AuditCrashPoints.ArchiveAfterWrite) { throw new InvalidOperationException("crash at " + point); } };
        await Assert.ThrowsAsync<InvalidOperationException>(() => Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct));
        Assert.Equal(["orders-1-5.nvarchive.tmp"], System.IO.Directory.GetFiles(ArchiveDir).Select(Path.GetFileName));
        Assert.Empty(await Retention.GetArchivesAsync(Ct));

        await ReopenAsync();
        var archive = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct));
        Assert.Equal(["orders-1-5.nvarchive"], System.IO.Directory.GetFiles(ArchiveDir).Select(Path.GetFileName));
        Assert.True(AuditArchives.Verify(archive.FilePath).IsValid);
        Assert.Single(await Retention.GetArchivesAsync(Ct));
    }

    [Fact]
    public async Task A_crash_after_the_rename_converges_even_when_the_next_run_archives_a_longer_range()
    {
        await AppendAsync(10);
        Store.StepHook = point => { if (point == AuditCrashPoints.ArchiveAfterRename) { throw new InvalidOperationException("crash at " + point); } };
        await Assert.ThrowsAsync<InvalidOperationException>(() => Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct));
        Assert.Equal(["orders-1-5.nvarchive"], System.IO.Directory.GetFiles(ArchiveDir).Select(Path.GetFileName));
        Assert.Empty(await Retention.GetArchivesAsync(Ct));

        await ReopenAsync();
        var archive = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(8), ArchiveDir, Ct));
        Assert.Equal((1L, 8L), (archive.FirstSequence, archive.LastSequence));
        Assert.Equal(["orders-1-8.nvarchive"], System.IO.Directory.GetFiles(ArchiveDir).Select(Path.GetFileName)); // the unrecorded one is gone
        Assert.True((await Proofs.VerifyAsync(null, Ct)).IsValid);
    }

    [Fact]
    public async Task A_crash_between_prune_chunks_resumes_at_the_marker_and_writes_the_prune_entry_once()
    {
        Options.PruneBatchSize = 4;
        await ReopenAsync();
        var entries = await AppendAsync(20);
        await Retention.ArchiveAsync(T0.AddMinutes(10), ArchiveDir, Ct);
        var chunks = 0;
        Store.StepHook = point => { if (point == AuditCrashPoints.PruneAfterChunk && ++chunks == 2) { throw new InvalidOperationException("crash"); } };
        await Assert.ThrowsAsync<InvalidOperationException>(() => Retention.PruneAsync(T0.AddMinutes(11), Ct));
        using (var raw = Raw())
        using (var marker = raw.CreateCommand())
        {
            marker.CommandText = "SELECT through FROM audit_pruned";
            Assert.Equal(8L, marker.ExecuteScalar());
        }

        Assert.Null(await Sink.GetAsync(entries[7].Id, Ct));
        Assert.NotNull(await Sink.GetAsync(entries[8].Id, Ct));
        Assert.True((await Proofs.VerifyAsync(null, Ct)).IsValid); // a half-pruned range verifies too
        Assert.Empty((await Sink.QueryAsync(new AuditQuery { Operation = "audit-pruned" }, Ct)).Entries);

        await ReopenAsync();
        var resumed = Assert.Single(await Retention.PruneAsync(T0.AddMinutes(11), Ct));
        Assert.Equal((9L, 10L), (resumed.FromSequence, resumed.ThroughSequence));
        Assert.Single((await Sink.QueryAsync(new AuditQuery { Operation = "audit-pruned" }, Ct)).Entries);
        Assert.True((await Proofs.VerifyAsync(null, Ct)).IsValid);
        Assert.Empty(await Retention.PruneAsync(T0.AddMinutes(11), Ct));
    }

    [Fact]
    public async Task Another_process_archiving_next_to_a_writer_does_not_break_the_writers_chain()
    {
        await AppendAsync(10);
        await using (var other = AuditSinks.OpenSqlite(Options))
        {
            // The other writer appends its audit-archived entry at the sequence this writer's cached head would use next.
            await ((IAuditRetention)other).ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct);
        }

        Assert.Equal(2, await Sink.AppendAsync([Entry(timestamp: T0.AddMinutes(30)), Entry(timestamp: T0.AddMinutes(31))], Ct));
        var verified = await Proofs.VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal(13, verified.EntriesChecked);
    }

    private static List<string> ReadLines(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return [.. reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static void WriteLines(string path, List<string> lines)
    {
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        gzip.Write(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
    }

    // Edits entry line `index` and recomputes its hash and every later entry's link and hash, as a forger would; the end
    // line's last hash follows. Only the Merkle root (signed) can then tell.
    private static List<string> Rehash(List<string> lines, int index, Func<string, string> edit)
    {
        lines[index] = edit(lines[index]);
        string? previous = null;
        for (var i = index; i < lines.Count - 1; i++)
        {
            using var document = System.Text.Json.JsonDocument.Parse(lines[i]);
            var entry = ArchiveEntryJson.Read(document.RootElement);
            if (previous is not null)
            {
                entry = entry with { PrevHash = previous };
            }

            entry = entry with { Hash = Nv.Audit.Chain.AuditHash.Compute(entry) };
            previous = entry.Hash;
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                ArchiveEntryJson.Write(writer, entry, new System.Buffers.ArrayBufferWriter<byte>());
            }

            lines[i] = Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        var end = System.Text.Json.Nodes.JsonNode.Parse(lines[^1])!;
        end["lastHash"] = previous;
        lines[^1] = end.ToJsonString();
        return lines;
    }
}
