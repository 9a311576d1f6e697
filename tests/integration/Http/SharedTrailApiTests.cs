using System.Net;
using System.Text.Json;
using Nv.Audit;
using Nv.Wal;

namespace Nv.Integration.Tests.Http;

/// <summary>A trail shared by several services (a chain each, as on one MongoDB trail): the same type and id in another
/// service is another entity, so an entity's history and its time travel read this host's service (<c>nv</c> here)
/// unless <c>?service=</c> names another. The other service's entries are appended to the host's real SQLite audit
/// store, which keeps one hash chain per service.</summary>
public sealed class SharedTrailApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    // An entity-mutation entry of service "billing", as billing's own host would write it from its WAL record.
    private static AuditEntry Billing(string entityId, WalOperation operation, string? before, string after, DateTimeOffset at, long lsn) =>
        AuditEntryFactory.FromWalRecord(new WalRecord
        {
            Id = Guid.CreateVersion7(at),
            Lsn = new Lsn(lsn),
            Service = "billing",
            Version = 1,
            Timestamp = at,
            Operation = operation,
            DtoType = "Order",
            EntityId = entityId,
            Payload = Json(after),
            ReplayKey = $"dev:billing:{lsn}:Order:{entityId}",
            RequestId = "billing-" + lsn,
        }, before is null ? null : Json(before), Json(after));

    [Fact]
    public async Task History_and_time_travel_read_this_hosts_service_unless_another_is_named()
    {
        await using var app = await NvTestApp.StartAsync();
        var id = "o-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Order", id, """{"owner":"nv"}""")).StatusCode);
        var later = DateTimeOffset.UtcNow.AddSeconds(1);
        await app.Audit.AppendAsync(
        [
            Billing(id, WalOperation.Create, null, """{"owner":"billing","n":1}""", later, 1),
            Billing(id, WalOperation.Update, """{"owner":"billing","n":1}""", """{"owner":"billing","n":2}""", later.AddMilliseconds(1), 2),
        ], Ct);
        var at = Uri.EscapeDataString(later.AddMinutes(1).ToString("O"));

        var own = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Order/{id}/history"));
        var entries = own.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(["nv"], entries.Select(e => e.GetProperty("service").GetString()));

        var billing = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Order/{id}/history?service=billing"));
        Assert.Equal(["billing", "billing"], billing.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("service").GetString()));

        var state = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Order/{id}/as-of?at={at}"));
        Assert.Equal("nv", state.GetProperty("document").GetProperty("owner").GetString());

        var theirs = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Order/{id}/as-of?at={at}&service=billing"));
        Assert.Equal(2, theirs.GetProperty("document").GetProperty("n").GetInt32());

        await NvTestApp.AssertProblemAsync(
            await app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Order/{id}/as-of?at={at}&service=nobody"), 404, "did-not-exist");
        await NvTestApp.AssertProblemAsync(
            await app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Order/{id}/as-of?at={at}&service="), 400, "validation");
    }
}
