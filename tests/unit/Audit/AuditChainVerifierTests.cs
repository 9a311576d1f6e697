using Nv.Audit;
using Nv.Audit.Chain;
using static Nv.Unit.Tests.Audit.AuditTestData;

namespace Nv.Unit.Tests.Audit;

public sealed class AuditChainVerifierTests
{
    private static List<AuditEntry> Chain(string service, int count)
    {
        var entries = new List<AuditEntry>();
        var prev = AuditHash.Genesis;
        for (var i = 1; i <= count; i++)
        {
            var entry = FixedEntry() with { Id = Guid.CreateVersion7(), Service = service, Sequence = i, PrevHash = prev, EntityId = "e" + i };
            entry = entry with { Hash = AuditHash.Compute(entry) };
            entries.Add(entry);
            prev = entry.Hash;
        }

        return entries;
    }

    private static AuditVerification Verify(IEnumerable<AuditEntry> entries)
    {
        var verifier = new AuditChainVerifier();
        foreach (var entry in entries)
        {
            verifier.Add(entry);
        }

        return verifier.ToResult();
    }

    [Fact]
    public void Intact_chains_verify()
    {
        var result = Verify(Chain("a", 5).Concat(Chain("b", 3)));
        Assert.True(result.IsValid);
        Assert.Equal(8, result.EntriesChecked);
    }

    [Fact]
    public void Edited_entry_is_reported()
    {
        var chain = Chain("a", 5);
        chain[2] = chain[2] with { Reason = "forged" };
        var result = Verify(chain);
        Assert.False(result.IsValid);
        Assert.Equal(("a", 3L), (result.BrokenChain, result.BrokenSequence!.Value));
        Assert.Contains("edited", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_entry_is_a_gap()
    {
        var chain = Chain("a", 5);
        chain.RemoveAt(2);
        var result = Verify(chain);
        Assert.Equal(4, result.BrokenSequence);
        Assert.Contains("deleted", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_first_entry_is_a_gap()
    {
        var result = Verify(Chain("a", 3).Skip(1));
        Assert.Equal(2, result.BrokenSequence);
        Assert.Contains("gap", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_sequence_is_reported()
    {
        var chain = Chain("a", 3);
        chain.Insert(2, chain[1] with { Id = Guid.CreateVersion7() });
        var result = Verify(chain);
        Assert.Equal(2, result.BrokenSequence);
        Assert.Contains("duplicate", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_order_sequence_is_reported()
    {
        var chain = Chain("a", 4);
        (chain[1], chain[2]) = (chain[2], chain[1]);
        var result = Verify(chain);
        Assert.False(result.IsValid);
        Assert.Equal(3, result.BrokenSequence);
        Assert.Contains("gap", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Storage_position_going_backwards_is_reordering()
    {
        var chain = Chain("a", 3);
        var verifier = new AuditChainVerifier();
        Assert.True(verifier.Add(chain[0], 10));
        Assert.False(verifier.Add(chain[1], 5));
        Assert.Contains("reordered", verifier.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Relinked_entry_is_a_prev_hash_mismatch()
    {
        var chain = Chain("a", 3);
        chain[1] = chain[1] with { PrevHash = new string('0', 64) };
        var result = Verify(chain);
        Assert.Equal(2, result.BrokenSequence);
        Assert.Contains("prevHash", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_first_break_is_reported()
    {
        var chain = Chain("a", 5);
        chain[1] = chain[1] with { Reason = "x" };
        chain[3] = chain[3] with { Reason = "y" };
        Assert.Equal(2, Verify(chain).BrokenSequence);
    }
}
