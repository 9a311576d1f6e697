using Nv.Audit;
using Nv.Audit.Archive;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Audit;

/// <summary>A store archived before the archive ledger (Support/PreLedgerStore: two archives, the second archiving the
/// first's <c>audit-archived</c> entry, and a prune, by commit f53fc36's executable) verifies as before with its rows
/// reported unverified, and once this build archives it again, the new entry commits to every row and nothing is
/// unverified any more; in Nv and in docs/audit_verify_reference.py.</summary>
public sealed class ArchiveLedgerMigrationTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Later than every entry of the fixture and of the test, on any clock.
    private static readonly DateTimeOffset Far = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private IAuditRetention Retention => (IAuditRetention)Sink;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    [Fact]
    public async Task A_store_archived_before_the_ledger_verifies_with_its_rows_unverified_until_the_next_archive_commits_to_all()
    {
        await Sink.DisposeAsync();
        PreLedgerStore.Copy(Directory);
        await ReopenAsync();
        var before = await Proofs.VerifyAsync(null, Ct);
        Assert.True(before.IsValid, before.Reason);
        Assert.Equal(9, before.EntriesChecked);
        Assert.Equal(2, before.UnverifiedArchiveRows);
        var warning = Assert.Single(before.Warnings);
        Assert.Contains("chain 'svc': 2 archive rows were recorded before the archive ledger", warning, StringComparison.Ordinal);
        Assert.Contains("WARNING: unverified archive rows", await ReferenceAsync(), StringComparison.Ordinal);

        // This build archives the live entries (the fixture's newest audit-archived entry 32 among them) and prunes them.
        await Sink.AppendAsync(Enumerable.Range(0, 5).Select(i => Entry(service: "svc", entityId: "e-" + i, requestId: "after-" + i)).ToList(), Ct);
        var third = Assert.Single(await Retention.ArchiveAsync(Far, Path.Combine(Directory, "archives"), Ct));
        Assert.Equal(("svc", 32L, 45L), (third.Chain, third.FirstSequence, third.LastSequence));
        var entry = (await Sink.QueryAsync(new AuditQuery { Operation = "audit-archived" }, Ct)).Entries.MaxBy(e => e.Sequence)!;
        Assert.Equal(46, entry.Sequence);
        Assert.Equal("3", entry.Metadata[ArchiveLedger.RowsKey]);
        var committed = await Proofs.VerifyAsync(null, Ct);
        Assert.True(committed.IsValid, committed.Reason);
        Assert.Equal(0, committed.UnverifiedArchiveRows);
        Assert.Empty(committed.Warnings);

        var prune = Assert.Single(await Retention.PruneAsync(Far, Ct));
        Assert.Equal((32L, 45L), (prune.FromSequence, prune.ThroughSequence));
        await ReopenAsync();
        var pruned = await Proofs.VerifyAsync(null, Ct);
        Assert.True(pruned.IsValid, pruned.Reason);
        Assert.Equal(0, pruned.UnverifiedArchiveRows);
        var reference = await ReferenceAsync();
        Assert.StartsWith("OK ", reference, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", reference, StringComparison.Ordinal);
    }

    private async Task<string> ReferenceAsync()
    {
        var verdict = await ReferenceVerifier.RunAsync(Ct, FilePath, Path.Combine(PreLedgerStore.Source, "audit-signing-key.pub.pem"));
        Assert.True(verdict.StartsWith("OK ", StringComparison.Ordinal), "docs/audit_verify_reference.py: " + verdict);
        return verdict;
    }
}
