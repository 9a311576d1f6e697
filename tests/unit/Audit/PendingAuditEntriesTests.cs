using System.Text;
using System.Text.Json;
using Nv.Audit;
using Nv.Audit.Outbox;

namespace Nv.Unit.Tests.Audit;

public sealed class PendingAuditEntriesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "nv-pending-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private string Folder => Path.Combine(_dir, PendingAuditEntries.FolderName);

    private static AuditEntry Denial(DateTimeOffset at, string requestId = "req-1") =>
        AuditEntryFactory.PermissionDenied("svc", requestId, "u1", "Order", "o-1", "role reader may not write",
            new FixedTime(at), new Dictionary<string, string> { ["path"] = "/v1/entities/Order/o-1", ["method"] = "PUT" });

    [Fact]
    public void A_parked_environment_change_keeps_its_before_and_after_images_and_its_diff()
    {
        var store = new PendingAuditEntries(_dir);
        var change = AuditEntryFactory.EnvironmentChanged("svc",
            new Dictionary<string, string> { ["environment"] = "test" }, new Dictionary<string, string> { ["environment"] = "prod", ["n"] = "1" });

        Assert.True(store.Park(change));
        var back = Assert.Single(store.Load((_, ex) => Assert.Fail(ex.Message))).Entry;

        Assert.Equal(Nv.Audit.Chain.CanonicalJson.ToText(change.Before!.Value), Nv.Audit.Chain.CanonicalJson.ToText(back.Before!.Value));
        Assert.Equal(Nv.Audit.Chain.CanonicalJson.ToText(change.After!.Value), Nv.Audit.Chain.CanonicalJson.ToText(back.After!.Value));
        Assert.Equal(change.Changes.Select(c => c.Path), back.Changes.Select(c => c.Path));
        Assert.Equal(Nv.Audit.Chain.AuditCanonicalEncoding.Encode(change), Nv.Audit.Chain.AuditCanonicalEncoding.Encode(back));
    }

    [Fact]
    public void A_file_parked_by_the_previous_format_still_reads()
    {
        var entry = """{"id":"01a207d9-217b-7aba-a13e-c4a230b3a07a","timestamp":"2026-11-23T10:00:00.0000000Z","service":"svc","category":"ServiceStartStop","operation":"service-start","userId":null,"dtoType":null,"entityId":"svc","reason":null,"metadata":{},"requestId":"system:1"}""";
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(entry)));
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, "old.json"), $$"""{"format":"nv-pending-audit-entry/1","sha256":"{{digest}}","entry":{{entry}}}""");

        var back = Assert.Single(new PendingAuditEntries(_dir).Load((_, ex) => Assert.Fail(ex.Message))).Entry;
        Assert.Equal((AuditCategory.ServiceStartStop, "service-start"), (back.Category, back.Operation));
        Assert.Null(back.Before);
        Assert.Empty(back.Changes);
    }

    [Fact]
    public void A_parked_entry_reads_back_exactly()
    {
        var store = new PendingAuditEntries(_dir);
        var denial = Denial(new DateTimeOffset(2026, 11, 23, 10, 0, 0, 123, TimeSpan.Zero));
        var started = AuditEntryFactory.ServiceStarted("svc");

        Assert.True(store.Park(denial));
        Assert.True(store.Park(started));
        var parked = store.Load((_, ex) => Assert.Fail("nothing is damaged: " + ex.Message));

        Assert.Equal(2, parked.Count);
        var back = parked.Single(p => p.Entry.Id == denial.Id).Entry;
        Assert.Equal(denial with { Metadata = back.Metadata }, back);
        Assert.Equal(denial.Metadata.OrderBy(p => p.Key), back.Metadata.OrderBy(p => p.Key));
        var lifecycle = parked.Single(p => p.Entry.Id == started.Id).Entry;
        Assert.Null(lifecycle.UserId);
        Assert.Null(lifecycle.DtoType);
        Assert.Equal(AuditCategory.ServiceStartStop, lifecycle.Category);
    }

    [Fact]
    public void Entries_come_back_oldest_first_and_are_forgotten_once_removed()
    {
        var store = new PendingAuditEntries(_dir);
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        store.Park(Denial(t0.AddMinutes(2), "late"));
        store.Park(Denial(t0, "early"));

        var parked = store.Load((_, _) => { });
        Assert.Equal(["early", "late"], parked.Select(p => p.Entry.RequestId));

        PendingAuditEntries.Remove(parked[0]);
        Assert.Equal(1, store.Count);
        Assert.Equal("late", Assert.Single(store.Load((_, _) => { })).Entry.RequestId);
    }

    [Fact]
    public void A_full_store_refuses_and_writes_nothing()
    {
        var store = new PendingAuditEntries(_dir, capacity: 2);
        Assert.True(store.Park(Denial(DateTimeOffset.UtcNow, "a")));
        Assert.True(store.Park(Denial(DateTimeOffset.UtcNow, "b")));

        Assert.False(store.Park(Denial(DateTimeOffset.UtcNow, "c")));
        Assert.Equal(2, Directory.GetFiles(Folder).Length);
    }

    [Fact]
    public void Entries_of_wal_records_are_not_parked()
    {
        var store = new PendingAuditEntries(_dir);
        var mutation = Denial(DateTimeOffset.UtcNow) with { After = JsonDocument.Parse("{}").RootElement, Lsn = new Nv.Wal.Lsn(3) };

        Assert.Throws<ArgumentException>(() => store.Park(mutation));
        Assert.False(Directory.Exists(Folder) && Directory.GetFiles(Folder).Length > 0);
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("format")]
    [InlineData("garbage")]
    public void A_damaged_file_is_moved_aside_reported_and_never_returned(string damage)
    {
        var store = new PendingAuditEntries(_dir);
        var good = Denial(DateTimeOffset.UtcNow, "good");
        store.Park(good);
        store.Park(Denial(DateTimeOffset.UtcNow, "bad"));
        var badPath = store.Load((_, _) => { }).Single(p => p.Entry.RequestId == "bad").Path;
        var text = File.ReadAllText(badPath);
        File.WriteAllText(badPath, damage switch
        {
            "flip" => text.Replace("role reader", "role writer", StringComparison.Ordinal), // valid JSON, wrong digest
            "truncate" => text[..(text.Length / 2)],
            "format" => text.Replace("nv-pending-audit-entry/1", "nv-pending-audit-entry/9", StringComparison.Ordinal),
            _ => "\0\0\0\0",
        }, Encoding.UTF8);

        var reported = new List<string>();
        var parked = store.Load((path, _) => reported.Add(path));

        Assert.Equal(good.Id, Assert.Single(parked).Entry.Id);
        Assert.Equal([badPath], reported);
        Assert.True(File.Exists(badPath + ".broken"));
        Assert.False(File.Exists(badPath));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
