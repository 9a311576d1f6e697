using Nv.Audit;
using Nv.Wal;
using static Nv.Unit.Tests.Audit.AuditTestData;

namespace Nv.Unit.Tests.Audit;

public sealed class AuditEntryFactoryTests
{
    [Fact]
    public void Entry_from_record_takes_id_timestamp_and_context_from_the_record()
    {
        var record = Record();
        var entry = AuditEntryFactory.FromWalRecord(record, Json("""{"status":"new"}"""), Json("""{"status":"paid"}"""));
        Assert.Equal(record.Id, entry.Id);
        Assert.Equal(record.Timestamp, entry.Timestamp);
        Assert.Equal(("orders", AuditCategory.EntityMutation, "update"), (entry.Service, entry.Category, entry.Operation));
        Assert.Equal(("alice", "Order", "o-17", "because", "req-9"), (entry.UserId, entry.DtoType, entry.EntityId, entry.Reason, entry.RequestId));
        Assert.Equal(new Lsn(99), entry.Lsn);
        Assert.Equal("10.0.0.1", entry.Metadata["ip"]);
        var change = Assert.Single(entry.Changes);
        Assert.Equal("/status", change.Path);
        Assert.Equal(0, entry.Sequence);
        Assert.Equal(string.Empty, entry.Hash);
    }

    [Fact]
    public void On_time_and_backfilled_entries_are_identical()
    {
        var record = Record();
        var a = AuditEntryFactory.FromWalRecord(record, Json("""{"status":"new"}"""));
        var b = AuditEntryFactory.FromWalRecord(record, Json("""{"status":"new"}"""));
        Assert.Equal(Nv.Audit.Chain.AuditCanonicalEncoding.Encode(a), Nv.Audit.Chain.AuditCanonicalEncoding.Encode(b));
    }

    [Theory]
    [InlineData(WalOperation.Create, "create")]
    [InlineData(WalOperation.Update, "update")]
    [InlineData(WalOperation.Delete, "delete")]
    public void Operations_map_to_names(WalOperation operation, string name)
    {
        Assert.Equal(name, AuditEntryFactory.FromWalRecord(Record(operation), null, null).Operation);
    }

    [Fact]
    public void Payload_overload_uses_the_payload_as_after_image_except_for_deletes()
    {
        var create = AuditEntryFactory.FromWalRecord(Record(WalOperation.Create), null);
        Assert.Equal("paid", create.After!.Value.GetProperty("status").GetString());
        Assert.Equal("/status", Assert.Single(create.Changes).Path);
        var delete = AuditEntryFactory.FromWalRecord(Record(WalOperation.Delete, "{}"), Json("""{"status":"paid"}"""));
        Assert.Null(delete.After);
        Assert.Null(Assert.Single(delete.Changes).After);
    }

    [Fact]
    public void Missing_request_id_throws()
    {
        Assert.Throws<ArgumentException>(() => AuditEntryFactory.FromWalRecord(Record() with { RequestId = "" }, null, null));
        Assert.Throws<ArgumentException>(() => AuditEntryFactory.FromWalRecord(Record() with { RequestId = "  " }, null, null));
    }

    [Fact]
    public void Missing_entity_id_throws()
    {
        Assert.Throws<ArgumentException>(() => AuditEntryFactory.FromWalRecord(Record() with { EntityId = "" }, null, null));
    }

    [Fact]
    public void Unknown_operation_throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AuditEntryFactory.FromWalRecord(Record((WalOperation)42), null, null));
    }

    [Fact]
    public void Unassigned_lsn_is_absent()
    {
        Assert.Null(AuditEntryFactory.FromWalRecord(Record() with { Lsn = Lsn.None }, null, null).Lsn);
    }

    [Fact]
    public void Service_start_and_stop_entries_name_the_service()
    {
        var clock = new FixedClock(new DateTimeOffset(2025, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var start = AuditEntryFactory.ServiceStarted("orders", clock);
        var stop = AuditEntryFactory.ServiceStopped("orders", clock, new Dictionary<string, string> { ["why"] = "SIGTERM" });
        Assert.Equal((AuditCategory.ServiceStartStop, "service-start", "orders"), (start.Category, start.Operation, start.EntityId));
        Assert.Equal((AuditCategory.ServiceStartStop, "service-stop", "SIGTERM"), (stop.Category, stop.Operation, stop.Metadata["why"]));
        Assert.Equal(7, start.Id.Version);
        Assert.NotEqual(start.Id, stop.Id);
        Assert.Equal(clock.GetUtcNow(), start.Timestamp);
        Assert.False(string.IsNullOrEmpty(start.RequestId));
    }

    [Fact]
    public void Denials_are_audited_with_their_category()
    {
        var auth = AuditEntryFactory.AuthenticationFailed("orders", "req-1", "mallory", "bad token");
        var perm = AuditEntryFactory.PermissionDenied("orders", "req-2", "bob", "Order", "o-1", "not owner");
        Assert.Equal((AuditCategory.Authentication, "authentication-failed", "mallory"), (auth.Category, auth.Operation, auth.EntityId));
        Assert.Equal((AuditCategory.Permission, "permission-denied", "bob", "Order"), (perm.Category, perm.Operation, perm.UserId, perm.DtoType));
        Assert.Throws<ArgumentException>(() => AuditEntryFactory.PermissionDenied("orders", "", "bob", null, "o-1", null));
        Assert.Throws<ArgumentException>(() => AuditEntryFactory.AuthenticationFailed("orders", "req-1", "", null));
    }

    [Fact]
    public void Metadata_is_copied()
    {
        var metadata = new Dictionary<string, string> { ["k"] = "v" };
        var entry = AuditEntryFactory.ServiceStarted("orders", metadata: metadata);
        metadata["k"] = "changed";
        Assert.Equal("v", entry.Metadata["k"]);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
