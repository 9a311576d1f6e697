using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Host.Http.Auth;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Http;

/// <summary>A flood of denied requests (junk keys, no key, a key without the role) writes at most the configured number
/// of entries one by one and, per window, one <c>denials-summarized</c> entry per address and kind whose counts account
/// for every other denial; a 401 or 403 never carries the caller's request id.</summary>
public sealed class DenialFloodTests
{
    private static readonly string Keys = string.Join(';',
        $"admin:writer+reader+auditor:{ApiKeyStore.Hash("flood-admin-secret")}",
        $"reader:reader:{ApiKeyStore.Hash("flood-reader-secret")}");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<NvTestApp> StartAsync(params string[] settings) =>
        NvTestApp.StartAsync(Keys, b => b.Services.AddSingleton<IStartupFilter, RemoteAddressFromHeader>(), settings);

    [Fact]
    public async Task A_flood_writes_at_most_the_bound_one_by_one_and_summaries_count_the_rest_by_address()
    {
        // A window longer than the test: the summaries are written when the test ends the window, not by the timer.
        await using var app = await StartAsync("--Nv:Http:DenialAuditWindow=01:00:00",
            "--Nv:Http:DenialAuditsPerAddress=5", "--Nv:Http:DenialAuditsPerWindow=12");
        var before = await AllAsync(app);
        var addresses = new[] { "203.0.113.1", "203.0.113.2", "203.0.113.3" };
        const int PerAddress = 200;
        var sent = Enumerable.Range(0, PerAddress * addresses.Length).Select(i => (Address: addresses[i % addresses.Length], I: i)).ToList();

        await Parallel.ForEachAsync(sent, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct }, async (call, ct) =>
        {
            using var request = NvTestApp.Request(HttpMethod.Get, "/v1/ops/wal", requestId: "flood-" + call.I.ToString(CultureInfo.InvariantCulture),
                key: call.I % 2 == 0 ? "junk-" + call.I.ToString(CultureInfo.InvariantCulture) : null);
            request.Headers.Add(RemoteAddressFromHeader.Header, call.Address);
            using var response = await app.Client.SendAsync(request, ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode); // every one is still a 401
        });
        // 403s from a fourth address: a key holder without the role.
        for (var i = 0; i < 40; i++)
        {
            using var request = NvTestApp.Request(HttpMethod.Get, "/v1/audit/entries", requestId: NvTestApp.NewRequestId(), key: "flood-reader-secret");
            request.Headers.Add(RemoteAddressFromHeader.Header, "2001:db8:7:7::" + (i + 1).ToString(CultureInfo.InvariantCulture));
            using var response = await app.Client.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        var duringWindow = (await AllAsync(app)).Count - before.Count;
        Assert.True(duringWindow <= 12, $"{duringWindow} entries were written during the window; at most 12 may be");

        var written = await app.App.Services.GetRequiredService<DenialSummaryWriter>().WriteWindowAsync();
        var entries = (await AllAsync(app)).Skip(before.Count).ToList();
        var itemized = entries.Where(e => e.Operation is NvOperations.AuthenticationFailed or NvOperations.PermissionDenied).ToList();
        var summaries = entries.Where(e => e.Operation == NvOperations.DenialsSummarized).ToList();

        Assert.Equal(entries.Count, itemized.Count + summaries.Count);
        Assert.Equal(written, summaries.Count);
        Assert.True(itemized.Count <= 12, $"{itemized.Count} denials were written one by one; at most 12 may be");
        Assert.All(itemized.GroupBy(e => e.Metadata["remoteAddress"]), g => Assert.True(g.Count() <= 5, $"{g.Key}: {g.Count()} one by one"));
        foreach (var address in addresses)
        {
            var one = itemized.Count(e => e.Metadata["remoteAddress"] == address);
            var summary = Assert.Single(summaries, s => s.EntityId == address);
            Assert.Equal((AuditCategory.Authentication, "401", address), (summary.Category, summary.Metadata["status"], summary.Metadata["remoteAddress"]));
            Assert.Equal(PerAddress, one + long.Parse(summary.Metadata["count"], CultureInfo.InvariantCulture)); // nothing lost
            Assert.Equal(one.ToString(CultureInfo.InvariantCulture), summary.Metadata["itemized"]);
            Assert.Contains(address, summary.Reason, StringComparison.Ordinal);
        }

        // The IPv6 caller changed its address within one /64 every time: counted as one.
        var permission = Assert.Single(summaries, s => s.Category == AuditCategory.Permission);
        Assert.Equal("2001:db8:7:7::/64", permission.EntityId);
        Assert.Equal(40, itemized.Count(e => e.Category == AuditCategory.Permission) + long.Parse(permission.Metadata["count"], CultureInfo.InvariantCulture));
        Assert.Equal("reader", permission.Metadata["subjects"]);

        Assert.All(itemized, e =>
        {
            Assert.StartsWith("http:", e.RequestId, StringComparison.Ordinal); // the server's id, never the caller's
            Assert.Equal(e.Category == AuditCategory.Authentication, e.Metadata[DenialAuditor.ClaimedRequestIdKey].StartsWith("flood-", StringComparison.Ordinal));
        });
        var verification = await app.Audit.VerifyAsync(Ct);
        Assert.True(verification.IsValid, verification.Reason);
    }

    [Fact]
    public async Task An_unauthenticated_caller_cannot_attach_a_denial_to_a_real_request()
    {
        await using var app = await StartAsync();
        var requestId = NvTestApp.NewRequestId();
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Claimed", "c-1", """{"a":1}""", requestId, "flood-admin-secret")).StatusCode);

        using var forged = NvTestApp.Request(HttpMethod.Post, "/v1/entities/Claimed/c-1", """{"a":2}""", requestId, "not-a-key");
        forged.Headers.Add("Idempotency-Key", requestId);
        var problem = await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(forged, Ct), 401, "unauthenticated");
        var serverId = problem.GetProperty("requestId").GetString()!;

        Assert.StartsWith("http:", serverId, StringComparison.Ordinal);
        var ofRequest = await app.Audit.QueryAsync(new AuditQuery { RequestId = requestId }, Ct);
        Assert.Equal(AuditCategory.EntityMutation, Assert.Single(ofRequest.Entries).Category); // the request's view holds only its write
        var denial = Assert.Single((await app.Audit.QueryAsync(new AuditQuery { RequestId = serverId }, Ct)).Entries);
        Assert.Equal((AuditCategory.Authentication, requestId), (denial.Category, denial.Metadata[DenialAuditor.ClaimedRequestIdKey]));
    }

    /// <summary>Fails while a 403's entry takes the caller's X-Request-Id: a reader key could put permission-denied entries
    /// into another caller's request view.</summary>
    [Fact]
    public async Task A_key_without_the_role_cannot_attach_a_denial_to_a_real_request()
    {
        await using var app = await StartAsync();
        var requestId = NvTestApp.NewRequestId();
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Claimed", "c-2", """{"a":1}""", requestId, "flood-admin-secret")).StatusCode);

        using var forged = NvTestApp.Request(HttpMethod.Put, "/v1/entities/Claimed/c-2", """{"a":2}""", requestId, "flood-reader-secret");
        var problem = await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(forged, Ct), 403, "forbidden");
        var serverId = problem.GetProperty("requestId").GetString()!;

        Assert.StartsWith("http:", serverId, StringComparison.Ordinal); // the problem names the id the entry carries
        var ofRequest = await app.Audit.QueryAsync(new AuditQuery { RequestId = requestId }, Ct);
        Assert.Equal(AuditCategory.EntityMutation, Assert.Single(ofRequest.Entries).Category); // the request's view holds only its write
        var view = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/requests/{requestId}", key: "flood-admin-secret"));
        Assert.Single(view.GetProperty("entries").EnumerateArray());
        var denial = Assert.Single((await app.Audit.QueryAsync(new AuditQuery { RequestId = serverId }, Ct)).Entries);
        Assert.Equal((AuditCategory.Permission, "reader", requestId), (denial.Category, denial.UserId, denial.Metadata[DenialAuditor.ClaimedRequestIdKey]));
    }

    [Fact]
    public async Task A_claimed_request_id_is_kept_short_and_printable()
    {
        await using var app = await StartAsync();
        using var request = NvTestApp.Request(HttpMethod.Get, "/v1/ops/wal", key: "not-a-key");
        request.Headers.TryAddWithoutValidation("X-Request-Id", new string('x', 100) + "\u00e9");
        var problem = await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(request, Ct), 401, "unauthenticated");

        var denial = Assert.Single((await app.Audit.QueryAsync(new AuditQuery { RequestId = problem.GetProperty("requestId").GetString() }, Ct)).Entries);
        Assert.Equal(new string('x', 64), denial.Metadata[DenialAuditor.ClaimedRequestIdKey]);
    }

    [Fact]
    public async Task Each_window_writes_its_summaries_by_itself()
    {
        await using var app = await StartAsync("--Nv:Http:DenialAuditWindow=00:00:01", "--Nv:Http:DenialAuditsPerAddress=2");
        for (var i = 0; i < 20; i++)
        {
            using var response = await app.SendAsync(HttpMethod.Get, "/v1/ops/wal", key: "junk");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // However the 20 fell across windows, the itemized ones and the summaries' counts add up to 20 once the last
        // window has ended (no call from the test: the timer writes them).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var entries = await AllAsync(app);
            var itemized = entries.Count(e => e.Operation == NvOperations.AuthenticationFailed);
            var counted = entries.Where(e => e.Operation == NvOperations.DenialsSummarized).Sum(e => long.Parse(e.Metadata["count"], CultureInfo.InvariantCulture));
            if (itemized + counted == 20)
            {
                Assert.True(counted > 0);
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"after 30 s: {itemized} one by one, {counted} counted in summaries, of 20");
            await Task.Delay(100, Ct);
        }
    }

    [Fact]
    public async Task The_last_window_is_written_when_the_host_stops()
    {
        using var dir = new TempDirectory();
        var settings = new[] { "--Nv:Http:DenialAuditWindow=01:00:00", "--Nv:Http:DenialAuditsPerAddress=1" };
        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false, Keys, settings))
        {
            for (var i = 0; i < 30; i++)
            {
                using var response = await app.SendAsync(HttpMethod.Get, "/v1/ops/wal");
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }
        }

        await using var restarted = await NvTestApp.StartAsync(dir, ownsDirectory: false, Keys, settings);
        var summary = Assert.Single(await AllAsync(restarted), e => e.Operation == NvOperations.DenialsSummarized);
        Assert.Equal(("29", "1", "anonymous", "unknown"),
            (summary.Metadata["count"], summary.Metadata["itemized"], summary.Metadata["subjects"], summary.EntityId));
    }

    // The authentication and permission entries, oldest first.
    private static async Task<List<AuditEntry>> AllAsync(NvTestApp app)
    {
        var all = new List<AuditEntry>();
        foreach (var category in new[] { AuditCategory.Authentication, AuditCategory.Permission })
        {
            string? cursor = null;
            do
            {
                var page = await app.Audit.QueryAsync(new AuditQuery { Category = category, Limit = 500, Cursor = cursor, Ascending = true }, Ct);
                all.AddRange(page.Entries);
                cursor = page.NextCursor;
            }
            while (cursor is not null);
        }

        return [.. all.OrderBy(e => e.Timestamp).ThenBy(e => e.Id)];
    }
}
