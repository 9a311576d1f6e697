using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Archive;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Audit;

/// <summary>The archive ledger on the real SQLite store: an archive row forged with plain SQL (with the entries it claims
/// deleted and the pruned marker moved over them) no longer passes verification, in Nv and in
/// docs/audit_verify_reference.py; neither does a deleted or edited archive row, nor an <c>audit-archived</c> entry appended
/// behind the store's back; and a legitimate sequence of archives, the later one archiving and pruning the earlier one's
/// <c>audit-archived</c> entry, still verifies.</summary>
/// <remarks>Written against the store's behaviour only (raw SQL, the public API, and the ledger recomputed here from
/// docs/audit-archive.md §5), so each test also runs against the code before the ledger, where the forgeries pass.</remarks>
public sealed class SqliteAuditArchiveLedgerTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private string ArchiveDir => Path.Combine(Directory, "archives");

    private IAuditRetention Retention => (IAuditRetention)Sink;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    // count entries one minute apart from T0 + startMinute, in chain "orders".
    private async Task AppendAsync(int count, int startMinute = 0) =>
        await Sink.AppendAsync(Enumerable.Range(startMinute, count)
            .Select(i => Entry(entityId: "o-" + (i % 7), timestamp: T0.AddMinutes(i), requestId: "req-" + i)).ToList(), Ct);

    [Theory]
    [InlineData("no-archive-yet", "no audit-archived entry of the chain records them")]
    [InlineData("over-the-archived-entry", "no audit-archived entry of the chain records them")]
    [InlineData("before-the-archived-entry", "is not the archive the newest audit-archived entry 21 records")]
    [InlineData("with-an-appended-archived-entry", "is not covered by a signed checkpoint")]
    public async Task A_forged_archive_row_with_its_entries_deleted_and_the_marker_moved_is_reported(string variant, string reason)
    {
        await AppendAsync(20);
        if (variant != "no-archive-yet")
        {
            Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct)); // entries 1..5, its audit-archived entry is 21
            await AppendAsync(10, startMinute: 20); // 22..31
        }

        await Proofs.CheckpointAsync("orders", Ct); // signed history the forgery keeps matching: the leaves stay
        var (first, last) = variant switch
        {
            "no-archive-yet" => (1L, 10L),
            "over-the-archived-entry" => (6L, 25L),
            _ => (6L, 15L),
        };
        using (var raw = Raw())
        {
            Forge(raw, first, last);
        }

        if (variant == "with-an-appended-archived-entry")
        {
            // The forger also appends a well-formed audit-archived entry committing to the rows as they now are: it links
            // and hashes like any entry (the chain is unkeyed), but no checkpoint can be signed over it without the key.
            using var raw = Raw();
            var rows = ArchiveRows(raw);
            await Sink.AppendAsync([AuditEntryFactory.SystemEvent("orders", "audit-archived", "audit", "forged", new Dictionary<string, string>
            {
                ["firstSequence"] = "6",
                ["lastSequence"] = "15",
                ["file"] = "/nowhere/orders-6-15.nvarchive",
                ["sha256"] = new string('0', 64),
                ["root"] = new string('0', 64),
                ["archiveLedgerVersion"] = "1",
                ["archiveLedgerRows"] = rows.Count.ToString(CultureInfo.InvariantCulture),
                ["archiveLedgerSha256"] = Ledger(rows),
            })], Ct);
        }

        var verified = await Proofs.VerifyAsync(null, Ct);

        Assert.False(verified.IsValid, "a forged archive row passed verification");
        Assert.Equal("orders", verified.BrokenChain);
        Assert.Contains(reason, verified.Reason, StringComparison.Ordinal);
        await AssertReferenceVerifierAsync("BROKEN orders");
    }

    [Fact]
    public async Task Archiving_refuses_to_commit_to_a_forged_archive_row()
    {
        await AppendAsync(20);
        await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct);
        await AppendAsync(10, startMinute: 20);
        using (var raw = Raw())
        {
            Forge(raw, 6, 15);
        }

        // The next archive would start after the forged row and commit to every row: it must not vouch for one it cannot.
        var refused = await Assert.ThrowsAsync<AuditChainBrokenException>(() => Retention.ArchiveAsync(T0.AddMinutes(25), ArchiveDir, Ct));
        Assert.Contains("nothing was archived", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await Retention.GetArchivesAsync(Ct)).Count);
        Assert.DoesNotContain(System.IO.Directory.GetFiles(ArchiveDir), f => f.Contains("orders-16-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_archives_verify_when_the_second_archives_and_prunes_the_first_ones_entry()
    {
        await AppendAsync(20);
        Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(10), ArchiveDir, Ct)); // 1..10; its audit-archived entry is 21 (now)
        await AppendAsync(5, startMinute: 100); // 22..26
        var now = DateTimeOffset.UtcNow.AddSeconds(1);
        var second = Assert.Single(await Retention.ArchiveAsync(now, ArchiveDir, Ct));
        Assert.Equal((11L, 26L), (second.FirstSequence, second.LastSequence)); // the first archive's entry is in it

        Assert.Equal(2, (await Retention.PruneAsync(now, Ct)).Count);

        var archived = (await Sink.QueryAsync(new AuditQuery { Operation = "audit-archived" }, Ct)).Entries;
        var live = Assert.Single(archived); // the first one was pruned
        Assert.Equal(27, live.Sequence);
        Assert.Equal("1", live.Metadata["archiveLedgerVersion"]);
        Assert.Equal("2", live.Metadata["archiveLedgerRows"]);
        using (var raw = Raw())
        {
            Assert.Equal(Ledger(ArchiveRows(raw)), live.Metadata["archiveLedgerSha256"]);
        }

        var verified = await Proofs.VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        await AppendAsync(3, startMinute: 200);
        await ReopenAsync();
        var again = await Proofs.VerifyAsync(null, Ct);
        Assert.True(again.IsValid, again.Reason);
        var reference = await AssertReferenceVerifierAsync("OK ");
        Assert.DoesNotContain("WARNING", reference, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("delete-newest", "is not the archive the newest audit-archived entry")]
    [InlineData("delete-oldest", "not consecutive ranges from entry 1")]
    [InlineData("edit-oldest", "are not the 2 that audit-archived entry")]
    public async Task A_deleted_or_edited_archive_row_is_reported(string change, string reason)
    {
        await AppendAsync(20);
        await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct); // 1..5
        await Retention.ArchiveAsync(T0.AddMinutes(10), ArchiveDir, Ct); // 6..10
        Assert.True((await Proofs.VerifyAsync(null, Ct)).IsValid);
        using (var raw = Raw())
        {
            Execute(raw, change switch
            {
                "delete-newest" => "DROP TRIGGER audit_archives_no_delete; DELETE FROM audit_archives WHERE first_sequence = 6",
                "delete-oldest" => "DROP TRIGGER audit_archives_no_delete; DELETE FROM audit_archives WHERE first_sequence = 1",
                _ => "DROP TRIGGER audit_archives_no_update; " +
                    "UPDATE audit_archives SET file_sha256 = '" + new string('e', 64) + "' WHERE first_sequence = 1",
            });
        }

        var verified = await Proofs.VerifyAsync(null, Ct);

        Assert.False(verified.IsValid, "a changed archive row passed verification");
        Assert.Contains(reason, verified.Reason, StringComparison.Ordinal);
        await AssertReferenceVerifierAsync("BROKEN orders");
    }

    [Theory]
    [InlineData("unknown-version", "archive ledger version '2' is not one this build knows")]
    [InlineData("partial", "only part of an archive ledger commitment")]
    [InlineData("bad-rows", "is not a positive decimal number")]
    public async Task An_archived_entry_with_a_corrupted_commitment_is_reported(string corruption, string reason)
    {
        await AppendAsync(10);
        await Retention.ArchiveAsync(T0.AddMinutes(5), ArchiveDir, Ct);
        var real = Assert.Single((await Sink.QueryAsync(new AuditQuery { Operation = "audit-archived" }, Ct)).Entries);
        // A store's own entry cannot be edited without breaking the chain; what a build could meet is an entry it does
        // not understand, so the newest audit-archived entry is one that names the same archive with a damaged commitment.
        var metadata = real.Metadata.ToDictionary();
        switch (corruption)
        {
            case "unknown-version":
                metadata["archiveLedgerVersion"] = "2";
                break;
            case "partial":
                metadata.Remove("archiveLedgerSha256");
                break;
            default:
                metadata["archiveLedgerRows"] = "01";
                break;
        }

        await Sink.AppendAsync([AuditEntryFactory.SystemEvent("orders", "audit-archived", "audit", "damaged", metadata)], Ct);

        var verified = await Proofs.VerifyAsync(null, Ct);

        Assert.False(verified.IsValid);
        Assert.Contains(reason, verified.Reason, StringComparison.Ordinal);
        await AssertReferenceVerifierAsync("BROKEN orders");
    }

    [Fact]
    public async Task A_forged_archive_row_on_a_store_archived_before_the_ledger_is_reported()
    {
        // Two archives and a prune by the build before the ledger (Support/PreLedgerStore).
        await Sink.DisposeAsync();
        PreLedgerStore.Copy(Directory);
        await ReopenAsync();
        Assert.True((await Proofs.VerifyAsync(null, Ct)).IsValid);
        using (var raw = Raw())
        {
            // Entries 1..31 are archived and pruned, 32 is the second archive's audit-archived entry, 33..40 follow it.
            Forge(raw, 32, 36, "svc");
        }

        var verified = await Proofs.VerifyAsync(null, Ct);

        Assert.False(verified.IsValid, "a forged archive row passed verification");
        Assert.Contains("no audit-archived entry of the chain records them", verified.Reason, StringComparison.Ordinal);
        await AssertReferenceVerifierAsync("BROKEN svc");
    }

    // What the forgery needs is plain SQL: an archive row claiming entries first..last (its last hash the real one, so the
    // next live entry links), every entry through last deleted (the delete trigger lets archived ones go: the real archives'
    // and the forged row's), the marker moved over them.
    private static void Forge(SqliteConnection raw, long first, long last, string chain = "orders")
    {
        using var command = raw.CreateCommand();
        command.CommandText = """
            INSERT INTO audit_archives (chain, first_sequence, last_sequence, last_hash, last_timestamp, file_name, file_sha256, checkpoint, created)
            SELECT $chain, $first, $last, e.hash, e.timestamp, '/nowhere/forged.nvarchive', $sha,
                   coalesce((SELECT text FROM audit_checkpoints ORDER BY position LIMIT 1), 'none'), e.timestamp
            FROM audit_entries e WHERE e.service = $chain AND e.sequence = $last;
            DELETE FROM audit_entries WHERE service = $chain AND sequence <= $last;
            INSERT INTO audit_pruned (chain, through, last_hash)
            SELECT chain, last_sequence, last_hash FROM audit_archives WHERE chain = $chain AND first_sequence = $first
            ON CONFLICT (chain) DO UPDATE SET through = excluded.through, last_hash = excluded.last_hash;
            """;
        command.Parameters.AddWithValue("$chain", chain);
        command.Parameters.AddWithValue("$first", first);
        command.Parameters.AddWithValue("$last", last);
        command.Parameters.AddWithValue("$sha", new string('0', 64));
        command.ExecuteNonQuery();
    }

    private static List<string[]> ArchiveRows(SqliteConnection raw)
    {
        using var command = raw.CreateCommand();
        command.CommandText = "SELECT chain, first_sequence, last_sequence, last_hash, last_timestamp, file_name, file_sha256, checkpoint, created " +
            "FROM audit_archives WHERE chain = 'orders' ORDER BY first_sequence";
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add(Enumerable.Range(0, 9).Select(i => Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!).ToArray());
        }

        return rows;
    }

    // docs/audit-archive.md §5, written here from the spec: ledger(0) = 32 zero bytes, ledger(k) = SHA-256(ledger(k-1) ||
    // "NVAR" || 0x01 || nine fields), a field being 0x01, a big-endian uint32 length and the UTF-8 bytes.
    private static string Ledger(IEnumerable<string[]> rows)
    {
        var ledger = new byte[32];
        var length = new byte[4];
        foreach (var row in rows)
        {
            using var data = new MemoryStream();
            data.Write(ledger);
            data.Write("NVAR"u8);
            data.WriteByte(1);
            foreach (var column in row)
            {
                var bytes = Encoding.UTF8.GetBytes(column);
                BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
                data.WriteByte(1);
                data.Write(length);
                data.Write(bytes);
            }

            ledger = SHA256.HashData(data.ToArray());
        }

        return Convert.ToHexStringLower(ledger);
    }

    private async Task<string> AssertReferenceVerifierAsync(string expectedStart)
    {
        var keyFile = Path.Combine(Directory, "verify.pub.pem");
        await File.WriteAllTextAsync(keyFile, await Proofs.GetPublicKeyPemAsync(Ct), Ct);
        var verdict = await ReferenceVerifier.RunAsync(Ct, FilePath, keyFile);
        Assert.True(verdict.StartsWith(expectedStart, StringComparison.Ordinal), "docs/audit_verify_reference.py: " + verdict);
        return verdict;
    }
}
