using Nv.Audit;

namespace Nv.Unit.Tests.Audit;

/// <summary>The checks every sink (SQLite and MongoDB) runs before writing an entry.</summary>
public sealed class AuditEntryValidationTests
{
    private static AuditEntry Entry() => AuditEntryFactory.ServiceStarted("svc");

    [Fact]
    public void A_well_formed_entry_passes() => AuditEntryValidation.Validate(Entry());

    [Theory]
    [InlineData("ABC")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000Z")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void A_malformed_wal_record_hash_is_refused(string hash)
    {
        var ex = Assert.Throws<ArgumentException>(() => AuditEntryValidation.Validate(Entry() with { WalRecordHash = hash }));
        Assert.Contains("WalRecordHash", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_required_fields_are_refused()
    {
        Assert.Throws<ArgumentException>(() => AuditEntryValidation.Validate(Entry() with { RequestId = " " }));
        Assert.Throws<ArgumentException>(() => AuditEntryValidation.Validate(Entry() with { EntityId = "" }));
        Assert.Throws<ArgumentException>(() => AuditEntryValidation.Validate(Entry() with { Operation = "" }));
    }
}
