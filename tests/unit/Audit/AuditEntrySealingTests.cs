using System.Text.Json;
using Nv.Audit;
using Nv.Wal.Protection;

namespace Nv.Unit.Tests.Audit;

/// <summary>Sealing an audit entry's data under a data key, with the plaintext buffer reused per thread.</summary>
public sealed class AuditEntrySealingTests
{
    [Fact]
    public void Entries_sealed_one_after_another_on_a_thread_each_open_to_exactly_their_own_data()
    {
        using var key = DataKey.Generate();
        var large = AuditTestData.FixedEntry() with
        {
            Id = Guid.CreateVersion7(),
            After = AuditTestData.Json(JsonSerializer.Serialize(new { notes = string.Concat(Enumerable.Repeat("Hilda Whitcher 078-05-1120 ", 4000)) })),
        };
        var small = AuditTestData.FixedEntry() with { Id = Guid.CreateVersion7(), Before = null, After = AuditTestData.Json("""{"a":1}"""), Changes = [] };

        // The large entry grows the thread's buffer past what is kept; the small ones after it reuse a fresh one, and
        // each must open to its own data only (nothing left over from the entry sealed before it).
        var sealedLarge = AuditEntrySealing.Seal(large, key);
        var sealedSmall = AuditEntrySealing.Seal(small, key);
        var sealedAgain = AuditEntrySealing.Seal(small, key);
        var sealedFixed = AuditEntrySealing.Seal(AuditTestData.FixedEntry(), key);

        Assert.Equal(large.After!.Value.GetRawText(), AuditEntrySealing.Open(sealedLarge, key).After!.Value.GetRawText());
        var opened = AuditEntrySealing.Open(sealedSmall, key);
        Assert.Null(opened.Before);
        Assert.Equal("""{"a":1}""", opened.After!.Value.GetRawText());
        Assert.Empty(opened.Changes);
        Assert.Equal("""{"a":1}""", AuditEntrySealing.Open(sealedAgain, key).After!.Value.GetRawText());
        var fixedOpened = AuditEntrySealing.Open(sealedFixed, key);
        Assert.Equal(AuditTestData.FixedEntry().Changes.Count, fixedOpened.Changes.Count);
        Assert.True(sealedSmall.Sealed!.Length < 200, $"{sealedSmall.Sealed.Length} sealed bytes for a 7-byte image");
    }
}
