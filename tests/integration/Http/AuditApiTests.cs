using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Nv.Integration.Tests.Http;

public sealed class AuditApiTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static string Id() => Guid.NewGuid().ToString("N")[..12];

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));

    private async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await _app.SendAsync(HttpMethod.Get, path);
        Assert.Equal(expected, response.StatusCode);
        return await NvTestApp.JsonAsync(response);
    }

    [Fact]
    public async Task Query_by_request_id_returns_its_entry()
    {
        var requestId = NvTestApp.NewRequestId();
        await _app.CreateAsync("Order", Id(), """{"a":1}""", requestId);
        var page = await GetJsonAsync($"/v1/audit/requests/{requestId}");
        var entry = Assert.Single(page.GetProperty("entries").EnumerateArray());
        Assert.Equal("create", entry.GetProperty("operation").GetString());
        Assert.Equal("entity-mutation", entry.GetProperty("category").GetString());
        Assert.Equal(64, entry.GetProperty("hash").GetString()!.Length);
    }

    [Fact]
    public async Task Query_by_an_unknown_request_id_is_a_404_problem()
    {
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/requests/nope-" + Id()), 404, "not-found");
    }

    [Fact]
    public async Task Entity_history_is_newest_first_with_field_diffs()
    {
        var id = Id();
        await _app.CreateAsync("Order", id, """{"status":"new","total":10}""");
        await _app.SendAsync(HttpMethod.Put, $"/v1/entities/Order/{id}", """{"status":"paid","total":10}""", NvTestApp.NewRequestId());
        await _app.SendAsync(HttpMethod.Delete, $"/v1/entities/Order/{id}", requestId: NvTestApp.NewRequestId());
        var entries = (await GetJsonAsync($"/v1/audit/entities/Order/{id}/history")).GetProperty("entries");
        Assert.Equal(["delete", "update", "create"], entries.EnumerateArray().Select(e => e.GetProperty("operation").GetString()!).ToArray());
        var change = Assert.Single(entries[1].GetProperty("changes").EnumerateArray());
        Assert.Equal("/status", change.GetProperty("path").GetString());
        Assert.Equal("new", change.GetProperty("before").GetString());
        Assert.Equal("paid", change.GetProperty("after").GetString());
    }

    [Fact]
    public async Task User_activity_lists_only_that_users_entries()
    {
        var user = "user-" + Id();
        for (var i = 0; i < 3; i++)
        {
            var request = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Order/{Id()}", """{"a":1}""", NvTestApp.NewRequestId());
            request.Headers.Add("X-User-Id", user);
            await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        }

        await _app.CreateAsync("Order", Id(), """{"a":1}""");
        var entries = (await GetJsonAsync($"/v1/audit/users/{user}/activity")).GetProperty("entries");
        Assert.Equal(3, entries.GetArrayLength());
        Assert.All(entries.EnumerateArray(), e => Assert.Equal(user, e.GetProperty("userId").GetString()));
    }

    [Fact]
    public async Task Search_pages_with_a_cursor_through_every_match_exactly_once()
    {
        var dtoType = "Page" + Id();
        var ids = Enumerable.Range(0, 7).Select(_ => Id()).ToList();
        foreach (var id in ids)
        {
            await _app.CreateAsync(dtoType, id, """{"a":1}""");
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await GetJsonAsync($"/v1/audit/entries?dtoType={dtoType}&category=entity-mutation&operation=create&service=nv&limit=3"
                + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            seen.AddRange(page.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("entityId").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(), seen.Order());
    }

    [Fact]
    public async Task Search_filters_by_time_range()
    {
        var dtoType = "Range" + Id();
        await _app.CreateAsync(dtoType, "a", """{"a":1}""");
        await Task.Delay(20, TestContext.Current.CancellationToken);
        var middle = DateTimeOffset.UtcNow;
        await Task.Delay(20, TestContext.Current.CancellationToken);
        await _app.CreateAsync(dtoType, "b", """{"a":1}""");
        var after = (await GetJsonAsync($"/v1/audit/entries?dtoType={dtoType}&from={Iso(middle)}")).GetProperty("entries");
        Assert.Equal("b", Assert.Single(after.EnumerateArray()).GetProperty("entityId").GetString());
        var before = (await GetJsonAsync($"/v1/audit/entries?dtoType={dtoType}&to={Iso(middle)}&order=asc")).GetProperty("entries");
        Assert.Equal("a", Assert.Single(before.EnumerateArray()).GetProperty("entityId").GetString());
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=abc")]
    [InlineData("category=nope")]
    [InlineData("from=yesterday")]
    [InlineData("from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z")]
    [InlineData("from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z")]
    [InlineData("order=sideways")]
    [InlineData("cursor=bm90LWEtY3Vyc29y")]
    [InlineData("cursor=%%%")]
    public async Task Bad_search_parameters_are_400_problems(string query)
    {
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/entries?" + query), 400, "validation");
    }

    [Fact]
    public async Task One_entry_is_found_by_id()
    {
        var requestId = NvTestApp.NewRequestId();
        await _app.CreateAsync("Order", Id(), """{"a":1}""", requestId);
        var id = (await GetJsonAsync($"/v1/audit/requests/{requestId}")).GetProperty("entries")[0].GetProperty("id").GetString();
        Assert.Equal(requestId, (await GetJsonAsync($"/v1/audit/entries/{id}")).GetProperty("requestId").GetString());
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{Guid.NewGuid()}"), 404, "not-found");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/entries/not-a-uuid"), 400, "validation");
    }

    [Fact]
    public async Task The_chain_verifies()
    {
        await _app.CreateAsync("Order", Id(), """{"a":1}""");
        var result = await GetJsonAsync("/v1/audit/verify");
        Assert.True(result.GetProperty("isValid").GetBoolean());
    }

    /// <summary>Oracle: a known sequence of states with a timestamp between each write; as-of each one returns that state.</summary>
    [Fact]
    public async Task As_of_returns_the_state_at_each_point_in_time_and_404_before_creation_and_after_deletion()
    {
        var id = Id();
        var beforeCreation = DateTimeOffset.UtcNow;
        await Task.Delay(15, TestContext.Current.CancellationToken);
        var oracle = new List<(DateTimeOffset At, int Version)>();
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Doc", id, """{"v":0}""")).StatusCode);
        for (var v = 0; v < 6; v++)
        {
            if (v > 0)
            {
                var put = await _app.SendAsync(HttpMethod.Put, $"/v1/entities/Doc/{id}", $$"""{"v":{{v}}}""", NvTestApp.NewRequestId());
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            await Task.Delay(15, TestContext.Current.CancellationToken);
            oracle.Add((DateTimeOffset.UtcNow, v));
            await Task.Delay(15, TestContext.Current.CancellationToken);
        }

        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Delete, $"/v1/entities/Doc/{id}", requestId: NvTestApp.NewRequestId())).StatusCode);
        await Task.Delay(15, TestContext.Current.CancellationToken);
        var afterDeletion = DateTimeOffset.UtcNow;

        foreach (var (at, version) in oracle)
        {
            var view = await GetJsonAsync($"/v1/audit/entities/Doc/{id}/as-of?at={Iso(at)}");
            Assert.Equal(version, view.GetProperty("document").GetProperty("v").GetInt32());
            Assert.True(view.GetProperty("changedAt").GetDateTimeOffset() <= at);
        }

        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Doc/{id}/as-of?at={Iso(beforeCreation)}"), 404, "did-not-exist");
        var gone = await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Doc/{id}/as-of?at={Iso(afterDeletion)}"), 404, "did-not-exist");
        Assert.Contains("deleted", gone.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task As_of_at_the_exact_timestamp_of_a_change_includes_it()
    {
        var id = Id();
        var requestId = NvTestApp.NewRequestId();
        await _app.CreateAsync("Doc", id, """{"v":"exact"}""", requestId);
        var timestamp = (await GetJsonAsync($"/v1/audit/requests/{requestId}")).GetProperty("entries")[0].GetProperty("timestamp").GetDateTimeOffset();
        var view = await GetJsonAsync($"/v1/audit/entities/Doc/{id}/as-of?at={Iso(timestamp)}");
        Assert.Equal("exact", view.GetProperty("document").GetProperty("v").GetString());
    }

    /// <summary>Was a 500: "at or before" asked the store for everything before the next tick, and there is no tick after
    /// the largest timestamp. As of the end of time is a fair question: the latest state.</summary>
    [Fact]
    public async Task As_of_the_largest_timestamp_is_the_latest_state()
    {
        var id = Id();
        await _app.CreateAsync("Doc", id, """{"v":"first"}""");
        await _app.SendAsync(HttpMethod.Put, $"/v1/entities/Doc/{id}", """{"v":"latest"}""", NvTestApp.NewRequestId());

        foreach (var end in new[] { "9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.9999999%2B00:00" })
        {
            var view = await GetJsonAsync($"/v1/audit/entities/Doc/{id}/as-of?at={end}");
            Assert.Equal("latest", view.GetProperty("document").GetProperty("v").GetString());
        }

        await NvTestApp.AssertProblemAsync(
            await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Doc/{Id()}/as-of?at=9999-12-31T23:59:59.9999999Z"), 404, "did-not-exist");
    }

    [Fact]
    public async Task As_of_without_a_valid_time_is_a_400_problem()
    {
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/entities/Doc/x/as-of"), 400, "validation");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/entities/Doc/x/as-of?at=soon"), 400, "validation");
    }
}
