using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Nv.Integration.Tests.Http;

public sealed class EntityApiTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static string Id() => Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Create_returns_201_with_etag_location_and_the_lsn()
    {
        var id = Id();
        var response = await _app.CreateAsync("Item", id, """{"name":"a","n":1}""", "create-" + id);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await NvTestApp.JsonAsync(response);
        var lsn = body.GetProperty("lsn").GetInt64();
        Assert.Equal($"\"{lsn}\"", response.Headers.ETag?.Tag);
        Assert.Equal($"/v1/entities/Item/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("applied", body.GetProperty("status").GetString());
        Assert.Equal("create-" + id, body.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task Get_returns_the_document_with_its_version_as_etag()
    {
        var id = Id();
        var created = await _app.CreateAsync("Item", id, """{"name":"b","tags":["x"]}""");
        var get = await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(created.Headers.ETag?.Tag, get.Headers.ETag?.Tag);
        var doc = await NvTestApp.JsonAsync(get);
        Assert.Equal("b", doc.GetProperty("name").GetString());
        Assert.Equal("x", doc.GetProperty("tags")[0].GetString());
    }

    [Fact]
    public async Task Get_with_a_matching_if_none_match_returns_304()
    {
        var id = Id();
        var created = await _app.CreateAsync("Item", id, """{"a":1}""");
        var request = NvTestApp.Request(HttpMethod.Get, $"/v1/entities/Item/{id}");
        request.Headers.TryAddWithoutValidation("If-None-Match", created.Headers.ETag!.Tag);
        var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Fact]
    public async Task Get_of_a_missing_entity_is_a_404_problem()
    {
        var response = await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{Id()}");
        await NvTestApp.AssertProblemAsync(response, 404, "not-found");
    }

    [Fact]
    public async Task Create_of_an_existing_entity_is_a_409_problem()
    {
        var id = Id();
        await _app.CreateAsync("Item", id, """{"a":1}""");
        var again = await _app.CreateAsync("Item", id, """{"a":2}""");
        var problem = await NvTestApp.AssertProblemAsync(again, 409, "already-exists");
        Assert.True(problem.GetProperty("lsn").GetInt64() > 0);
    }

    [Fact]
    public async Task Put_replaces_the_document_and_returns_the_new_version()
    {
        var id = Id();
        await _app.CreateAsync("Item", id, """{"a":1,"b":2}""");
        var put = await _app.SendAsync(HttpMethod.Put, $"/v1/entities/Item/{id}", """{"c":3}""", NvTestApp.NewRequestId());
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var doc = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}"));
        Assert.Equal("""{"c":3}""", doc.GetRawText());
    }

    [Fact]
    public async Task Put_of_a_missing_entity_is_a_404_problem()
    {
        var put = await _app.SendAsync(HttpMethod.Put, $"/v1/entities/Item/{Id()}", """{"c":3}""", NvTestApp.NewRequestId());
        await NvTestApp.AssertProblemAsync(put, 404, "not-found");
    }

    [Fact]
    public async Task Put_with_a_stale_if_match_is_a_412_problem_and_changes_nothing()
    {
        var id = Id();
        var created = await _app.CreateAsync("Item", id, """{"v":1}""");
        await _app.SendAsync(HttpMethod.Put, $"/v1/entities/Item/{id}", """{"v":2}""", NvTestApp.NewRequestId());
        var stale = NvTestApp.Request(HttpMethod.Put, $"/v1/entities/Item/{id}", """{"v":3}""", NvTestApp.NewRequestId());
        stale.Headers.TryAddWithoutValidation("If-Match", created.Headers.ETag!.Tag);
        var response = await _app.Client.SendAsync(stale, TestContext.Current.CancellationToken);
        await NvTestApp.AssertProblemAsync(response, 412, "precondition-failed");
        var doc = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}"));
        Assert.Equal(2, doc.GetProperty("v").GetInt32());
    }

    [Fact]
    public async Task Put_with_the_current_if_match_applies()
    {
        var id = Id();
        var created = await _app.CreateAsync("Item", id, """{"v":1}""");
        var request = NvTestApp.Request(HttpMethod.Put, $"/v1/entities/Item/{id}", """{"v":2}""", NvTestApp.NewRequestId());
        request.Headers.TryAddWithoutValidation("If-Match", created.Headers.ETag!.Tag);
        var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Patch_applies_a_json_merge_patch_to_the_current_state()
    {
        var id = Id();
        await _app.CreateAsync("Item", id, """{"name":"a","address":{"city":"Oslo","zip":"0150"},"drop":true}""");
        var request = NvTestApp.Request(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"address":{"city":"Bergen"},"drop":null,"added":[1]}""",
            NvTestApp.NewRequestId(), contentType: "application/merge-patch+json");
        var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}"));
        Assert.Equal("a", doc.GetProperty("name").GetString());
        Assert.Equal("Bergen", doc.GetProperty("address").GetProperty("city").GetString());
        Assert.Equal("0150", doc.GetProperty("address").GetProperty("zip").GetString());
        Assert.False(doc.TryGetProperty("drop", out _));
        Assert.Equal(1, doc.GetProperty("added")[0].GetInt32());
    }

    [Fact]
    public async Task Patch_with_a_stale_if_match_is_a_412_problem()
    {
        var id = Id();
        await _app.CreateAsync("Item", id, """{"v":1}""");
        var request = NvTestApp.Request(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"v":2}""", NvTestApp.NewRequestId());
        request.Headers.TryAddWithoutValidation("If-Match", "\"999999\"");
        var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        await NvTestApp.AssertProblemAsync(response, 412, "precondition-failed");
    }

    [Fact]
    public async Task Patch_of_a_missing_entity_is_a_404_problem()
    {
        var response = await _app.SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{Id()}", """{"v":2}""", NvTestApp.NewRequestId());
        await NvTestApp.AssertProblemAsync(response, 404, "not-found");
    }

    [Fact]
    public async Task Concurrent_patches_of_one_version_have_exactly_one_winner_and_the_rest_are_concurrent_modification_problems()
    {
        // Every PATCH has read the same version (a read barrier holds each read until all are done), so the version guard
        // lets exactly one through; the others must be 409 concurrent-modification with nothing written for them.
        const int patches = 6;
        var id = Id();
        await using var app = await NvTestApp.StartAsync(null, builder => ReadBarrier.Install(builder.Services, id, patches));
        var created = await app.CreateAsync("Item", id, """{"n":0}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var tasks = Enumerable.Range(0, patches).Select(i => app.SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{id}",
            $$"""{"f{{i}}":{{i}}}""", NvTestApp.NewRequestId())).ToList();
        var responses = await Task.WhenAll(tasks);

        var winners = responses.Select((r, i) => (r, i)).Where(p => p.r.StatusCode == HttpStatusCode.OK).ToList();
        var (winner, index) = Assert.Single(winners);
        foreach (var loser in responses.Where(r => r != winner))
        {
            await NvTestApp.AssertProblemAsync(loser, 409, "concurrent-modification");
        }

        var doc = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}"));
        for (var i = 0; i < patches; i++)
        {
            Assert.Equal(i == index, doc.TryGetProperty("f" + i, out _));
        }

        Assert.Equal(0, doc.GetProperty("n").GetInt32());
        Assert.Equal((await NvTestApp.JsonAsync(winner)).GetProperty("lsn").GetInt64().ToString(CultureInfo.InvariantCulture),
            (await app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}")).Headers.ETag!.Tag.Trim('"'));
    }

    [Fact]
    public async Task Delete_removes_the_entity()
    {
        var id = Id();
        await _app.CreateAsync("Item", id, """{"v":1}""");
        var delete = await _app.SendAsync(HttpMethod.Delete, $"/v1/entities/Item/{id}", requestId: NvTestApp.NewRequestId());
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal("delete", (await NvTestApp.JsonAsync(delete)).GetProperty("operation").GetString());
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}"), 404, "not-found");
    }

    [Fact]
    public async Task Delete_of_a_missing_entity_is_a_404_problem()
    {
        var delete = await _app.SendAsync(HttpMethod.Delete, $"/v1/entities/Item/{Id()}", requestId: NvTestApp.NewRequestId());
        await NvTestApp.AssertProblemAsync(delete, 404, "not-found");
    }

    [Fact]
    public async Task A_write_without_x_request_id_is_a_400_problem_and_writes_nothing()
    {
        var before = _app.Wal.LastLsn;
        var response = await _app.SendAsync(HttpMethod.Post, $"/v1/entities/Item/{Id()}", """{"a":1}""");
        var problem = await NvTestApp.AssertProblemAsync(response, 400, "validation");
        Assert.Equal("X-Request-Id", problem.GetProperty("field").GetString());
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task A_retry_with_the_same_request_id_returns_the_first_outcome_and_writes_one_wal_record()
    {
        var id = Id();
        var requestId = NvTestApp.NewRequestId();
        var first = await _app.CreateAsync("Item", id, """{"v":1}""", requestId);
        var afterFirst = _app.Wal.LastLsn;
        var firstBody = await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var retry = await _app.CreateAsync("Item", id, """{"v":1}""", requestId);
        var retryBody = await retry.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(first.StatusCode, retry.StatusCode);
        Assert.Equal(firstBody, retryBody);
        Assert.Equal(first.Headers.ETag?.Tag, retry.Headers.ETag?.Tag);
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        Assert.Equal(afterFirst, _app.Wal.LastLsn);
        var records = 0;
        await foreach (var record in _app.Wal.ReadAsync(new Nv.Wal.Lsn(1), TestContext.Current.CancellationToken))
        {
            records += record.RequestId == requestId ? 1 : 0;
        }

        Assert.Equal(1, records);
    }

    [Fact]
    public async Task A_retry_of_a_rejected_write_returns_the_same_problem()
    {
        var id = Id();
        await _app.CreateAsync("Item", id, """{"v":1}""");
        var requestId = NvTestApp.NewRequestId();
        var first = await _app.CreateAsync("Item", id, """{"v":2}""", requestId);
        var retry = await _app.CreateAsync("Item", id, """{"v":2}""", requestId);
        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken),
            await retry.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task User_reason_and_metadata_headers_reach_the_audit_entry()
    {
        var id = Id();
        var requestId = NvTestApp.NewRequestId();
        var request = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Item/{id}", """{"v":1}""", requestId);
        request.Headers.Add("X-User-Id", "alice");
        request.Headers.Add("X-Reason", "ticket 42");
        request.Headers.Add("X-Meta-Ticket", "T-42");
        Assert.Equal(HttpStatusCode.Created, (await _app.Client.SendAsync(request, TestContext.Current.CancellationToken)).StatusCode);
        var page = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/requests/{requestId}"));
        var entry = page.GetProperty("entries")[0];
        Assert.Equal("alice", entry.GetProperty("userId").GetString());
        Assert.Equal("ticket 42", entry.GetProperty("reason").GetString());
        Assert.Equal("T-42", entry.GetProperty("metadata").GetProperty("ticket").GetString());
    }

    [Fact]
    public async Task Unknown_routes_and_methods_get_problems()
    {
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/nothing"), 404, "not-found");
        var response = await _app.SendAsync(HttpMethod.Head, $"/v1/audit/verify");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Entity_json_round_trips_unicode_and_numbers()
    {
        var id = Id();
        const string json = """{"s":"ünï €😀 \"q\"","big":12345678901234567,"f":1.5e-7,"neg":-0.25}""";
        await _app.CreateAsync("Item", id, json);
        var doc = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}"));
        Assert.Equal("ünï €😀 \"q\"", doc.GetProperty("s").GetString());
        Assert.Equal(12345678901234567, doc.GetProperty("big").GetInt64());
        Assert.Equal(JsonValueKind.Number, doc.GetProperty("f").ValueKind);
    }
}
