using System.Text.Json;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Unit.Tests.Audit;

/// <summary>The audit-event record format: the payload round-trips, anything else is refused as unparseable, and the entry
/// is a pure function of the record (so replay and the backfill rebuild it byte for byte).</summary>
public sealed class AuditEventsTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static WalRecord Record(JsonElement payload, string dtoType = "") => new()
    {
        Id = new Guid("01900000-0000-7000-8000-000000000042"),
        Lsn = new Lsn(42),
        Service = "svc",
        Version = 1,
        Timestamp = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero),
        Operation = WalOperation.AuditEvent,
        DtoType = dtoType,
        EntityId = "r-1",
        Payload = payload,
        ReplayKey = "test:svc:1:_audit:r-1",
        RequestId = "req-1",
        UserId = "billing",
        Reason = "monthly close",
        Metadata = new Dictionary<string, string> { ["z"] = "1", ["a"] = "2" },
    };

    [Fact]
    public void The_payload_round_trips_with_and_without_images()
    {
        var bare = AuditEvents.ToPayload(AuditCategory.SystemEvents, "report-exported", null, null);
        Assert.Equal("""{"category":"system-events","operation":"report-exported"}""", bare.GetRawText());
        Assert.Equal((AuditCategory.SystemEvents, "report-exported", (JsonElement?)null, (JsonElement?)null), AuditEvents.ParsePayload(bare));

        var full = AuditEvents.ToPayload(AuditCategory.Permission, "role-granted", Json("""{"role":null}"""), Json("""{"role":"auditor","n":1.50}"""));
        var (category, operation, before, after) = AuditEvents.ParsePayload(full);
        Assert.Equal((AuditCategory.Permission, "role-granted"), (category, operation));
        Assert.Equal("""{"role":null}""", before!.Value.GetRawText());
        Assert.Equal("""{"role":"auditor","n":1.50}""", after!.Value.GetRawText());
    }

    [Theory]
    [InlineData("""[]""")]
    [InlineData("""{"operation":"x"}""")]
    [InlineData("""{"category":"system-events"}""")]
    [InlineData("""{"category":"entity-mutation","operation":"update"}""")]
    [InlineData("""{"category":"unknown","operation":"x"}""")]
    [InlineData("""{"category":"system-events","operation":"has space"}""")]
    [InlineData("""{"category":"system-events","operation":""}""")]
    [InlineData("""{"category":"system-events","operation":"x","extra":1}""")]
    [InlineData("""{"category":"system-events","operation":"x","after":1,"after":2}""")]
    [InlineData("""{"category":7,"operation":"x"}""")]
    public void Any_other_payload_does_not_parse(string payload) =>
        Assert.Throws<FormatException>(() => AuditEvents.ParsePayload(Json(payload)));

    [Fact]
    public void Every_operation_nv_declares_for_itself_is_reserved()
    {
        // The reserved set is read from NvOperations' declarations, the names Nv's own entries use.
        Assert.Equal(16, NvOperations.All.Count);
        Assert.Contains("wal-tail-cut", NvOperations.All);
        Assert.Contains("denials-summarized", NvOperations.All); // a custom event cannot pose as a count of denials
        Assert.Contains(AuditEntryFactory.ReplayFinishedOperation, NvOperations.All);
        Assert.All(NvOperations.All, operation =>
            Assert.Throws<ArgumentException>(() => AuditEvents.ToPayload(AuditCategory.SystemEvents, operation, null, null)));
    }

    [Fact]
    public void A_custom_event_may_not_claim_to_be_an_entity_mutation() =>
        Assert.Throws<ArgumentException>(() => AuditEvents.ToPayload(AuditCategory.EntityMutation, "update", null, null));

    /// <summary>A custom event could pose as one of Nv's own entries (a service-start entry is what a MongoDB audit store
    /// compares the next start's environment with).</summary>
    [Theory]
    [InlineData(AuditCategory.ServiceStartStop, "service-start")]
    [InlineData(AuditCategory.ServiceStartStop, "service-stop")]
    [InlineData(AuditCategory.EnvironmentChange, "environment-changed")]
    [InlineData(AuditCategory.SystemEvents, "audit-pruned")]
    [InlineData(AuditCategory.SystemEvents, "checkpoint-failed")]
    [InlineData(AuditCategory.Authentication, "authentication-failed")]
    public void A_custom_event_may_not_take_an_operation_nv_records_itself(AuditCategory category, string operation)
    {
        var refused = Assert.Throws<ArgumentException>(() => AuditEvents.ToPayload(category, operation, null, null));
        Assert.Contains("Nv records itself", refused.Message, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, AuditEvents.ToPayload(category, "billing-" + operation, null, null).ValueKind);
    }

    [Fact]
    public void The_entry_is_a_pure_function_of_the_record()
    {
        var record = Record(AuditEvents.ToPayload(AuditCategory.SystemEvents, "setting-changed", Json("""{"v":1}"""), Json("""{"v":2}""")), "Setting");

        var entry = AuditEntryFactory.FromWalRecord(record, before: null);
        var again = AuditEvents.ToEntry(record);

        Assert.Equal((record.Id, record.Timestamp, "svc", AuditCategory.SystemEvents, "setting-changed"),
            (entry.Id, entry.Timestamp, entry.Service, entry.Category, entry.Operation));
        Assert.Equal(("Setting", "r-1", "billing", "monthly close", "req-1"), (entry.DtoType, entry.EntityId, entry.UserId, entry.Reason, entry.RequestId));
        Assert.Equal(new Lsn(42), entry.Lsn);
        Assert.Equal(WalRecordHasher.Compute(record), entry.WalRecordHash);
        Assert.Equal("/v", Assert.Single(entry.Changes).Path);
        Assert.Equal(AuditCanonicalEncoding.Encode(entry with { PrevHash = AuditHash.Genesis, Sequence = 1 }),
            AuditCanonicalEncoding.Encode(again with { PrevHash = AuditHash.Genesis, Sequence = 1 }));
        Assert.Null(AuditEvents.ToEntry(record with { DtoType = "" }).DtoType);
    }

    // The record of a sealed event as a reader sees it: opened (its payload at hand) or not (its key destroyed).
    private static WalRecord SealedRecord(bool opened) => Record(
        opened ? AuditEvents.ToPayload(AuditCategory.Permission, "role-granted", null, Json("""{"role":"auditor"}""")) : default, "Customer") with
    {
        PayloadKeyId = new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"),
        Subject = "Customer/r-1",
        SealedPayload = new byte[] { 1, 2, 3 },
        PayloadUnavailable = !opened,
        EventCategory = "permission",
        EventOperation = "role-granted",
    };

    [Fact]
    public void A_sealed_event_whose_key_is_gone_gets_its_entry_from_the_plain_category_and_operation_with_no_image()
    {
        var opened = AuditEvents.ToEntry(SealedRecord(opened: true));
        var erased = AuditEvents.ToEntry(SealedRecord(opened: false));

        Assert.Equal((AuditCategory.Permission, "role-granted"), (opened.Category, opened.Operation));
        Assert.NotNull(opened.After);
        Assert.Equal((AuditCategory.Permission, "role-granted", "Customer", "r-1"), (erased.Category, erased.Operation, erased.DtoType, erased.EntityId));
        Assert.Null(erased.Before);
        Assert.Null(erased.After);
        Assert.Empty(erased.Changes);
        Assert.Throws<FormatException>(() => AuditEvents.ToEntry(SealedRecord(opened: false) with { EventCategory = null, EventOperation = null }));
        Assert.Throws<FormatException>(() => AuditEvents.ToEntry(SealedRecord(opened: false) with { EventCategory = "entity-mutation" }));
        Assert.Throws<FormatException>(() => AuditEvents.ToEntry(SealedRecord(opened: false) with { EventOperation = "has space" }));
    }

    [Fact]
    public void Only_an_audit_event_to_be_sealed_gets_a_plain_copy_of_its_category_and_operation()
    {
        var opened = SealedRecord(opened: true) with { EventCategory = null, EventOperation = null };
        Assert.Equal(("permission", "role-granted"), (AuditEvents.WithPlainHeader(opened).EventCategory, AuditEvents.WithPlainHeader(opened).EventOperation));
        Assert.Null(AuditEvents.WithPlainHeader(opened with { PayloadKeyId = null }).EventCategory); // plain: written as before
        var update = opened with { Operation = WalOperation.Update, Payload = Json("""{"n":1}""") };
        Assert.Same(update, AuditEvents.WithPlainHeader(update));
    }

    [Fact]
    public void A_plain_category_or_operation_that_disagrees_with_the_sealed_payload_is_refused_and_the_hash_covers_both()
    {
        Assert.Throws<FormatException>(() => AuditEvents.ToEntry(SealedRecord(opened: true) with { EventCategory = "system-events" }));
        Assert.Throws<FormatException>(() => AuditEvents.ToEntry(SealedRecord(opened: true) with { EventOperation = "role-revoked" }));
        Assert.NotEqual(WalRecordHasher.Compute(SealedRecord(opened: false)), WalRecordHasher.Compute(SealedRecord(opened: false) with { EventOperation = "role-revoked" }));
    }

    [Fact]
    public void The_WAL_record_hash_names_the_operation_audit_event() =>
        Assert.Equal("audit-event", AuditEntryFactory.OperationName(WalOperation.AuditEvent));

    [Fact]
    public void An_entity_record_is_not_an_event() =>
        Assert.Throws<ArgumentException>(() => AuditEvents.ToEntry(Record(Json("{}")) with { Operation = WalOperation.Update }));

    [Fact]
    public void An_environment_change_entry_diffs_the_two_runs()
    {
        var entry = AuditEntryFactory.EnvironmentChanged("svc",
            new Dictionary<string, string> { ["environment"] = "test", ["version"] = "1.0" },
            new Dictionary<string, string> { ["environment"] = "prod", ["version"] = "1.0", ["writer"] = "sqlite" });

        Assert.Equal((AuditCategory.EnvironmentChange, "environment-changed", "svc"), (entry.Category, entry.Operation, entry.EntityId));
        Assert.Equal(["/environment", "/writer"], entry.Changes.Select(c => c.Path));
        Assert.Null(AuditEntryFactory.EnvironmentChanged("svc", null, new Dictionary<string, string> { ["a"] = "b" }).Before);
    }
}
