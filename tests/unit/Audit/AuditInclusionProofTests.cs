using Nv.Audit;

namespace Nv.Unit.Tests.Audit;

public sealed class AuditInclusionProofTests
{
    /// <summary>Fails without the leaf recomputation in AuditInclusionProof.Verify: it checked the tree's leaf hash against the
    /// tree's root, so a proof whose entry differs from what was appended (a field, its id, its sequence or service), or
    /// whose checkpoint is another tree's, still verified.</summary>
    [Fact]
    public async Task A_proof_verifies_only_for_the_entry_as_appended_and_its_own_checkpoint()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var audit = AuditSinks.CreateInMemory();
        var proofs = (IAuditProofs)audit;
        var entries = Enumerable.Range(0, 5).Select(i => AuditTestData.FixedEntry() with { Id = Guid.NewGuid(), RequestId = "req-" + i }).ToList();
        await audit.AppendAsync(entries, ct);
        var proof = (await proofs.GetInclusionProofAsync(entries[2].Id, cancellationToken: ct))!;
        var other = (await proofs.GetInclusionProofAsync(entries[2].Id, treeSize: 4, cancellationToken: ct))!;
        await audit.AppendAsync([AuditTestData.FixedEntry() with { Id = Guid.NewGuid() }], ct);
        var later = (await proofs.CheckpointAsync("orders", ct))!;

        Assert.True(proof.Verify());
        Assert.NotNull(proof.Checkpoint);
        Assert.False((proof with { Entry = proof.Entry with { Reason = "rewritten" } }).Verify());
        Assert.False((proof with { Entry = proof.Entry with { Id = Guid.NewGuid() } }).Verify());
        Assert.False((proof with { Entry = proof.Entry with { Sequence = 2 } }).Verify());
        Assert.False((proof with { Entry = proof.Entry with { Service = "billing" } }).Verify());
        Assert.False((proof with { Entry = proof.Entry with { PrevHash = "not a hash" } }).Verify());
        Assert.False((proof with { Checkpoint = later }).Verify());
        Assert.True(other.Verify());
        Assert.False((other with { Entry = other.Entry with { After = AuditTestData.Json("""{"tampered":true}""") } }).Verify());
    }
}
