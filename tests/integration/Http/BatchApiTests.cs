using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Nv.Integration.Tests.Http;

/// <summary><c>POST /v1/batch</c> and <c>X-Dto-Version</c> on the real app (real WAL, SQLite store and audit trail).</summary>
public sealed class BatchApiTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Id() => Guid.NewGuid().ToString("N")[..12];

    private Task<HttpResponseMessage> Batch(string body, string? requestId = null, Action<HttpRequestMessage>? headers = null)
    {
        var request = NvTestApp.Request(HttpMethod.Post, "/v1/batch", body, requestId ?? NvTestApp.NewRequestId());
        headers?.Invoke(request);
        return _app.Client.SendAsync(request, Ct);
    }

    /// <summary>Was a 500: the batch endpoint mapped only some of the pipeline's refusals (WriteProblems now maps them for
    /// every write endpoint).</summary>
    [Fact]
    public async Task A_request_id_reused_for_another_batch_is_a_422_and_writes_nothing()
    {
        var (a, b) = (Id(), Id());
        var requestId = NvTestApp.NewRequestId();
        var first = await Batch($$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{a}}}","payload":{"n":1}}]}""", requestId);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        var reused = await Batch($$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{b}}}","payload":{"n":2}}]}""", requestId);

        Assert.Equal((HttpStatusCode)422, reused.StatusCode);
        Assert.Contains("https://nv.dev/problems/idempotency-key-reused", await reused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Order/{b}")).StatusCode);
    }

    [Fact]
    public async Task A_batch_writes_every_item_at_one_lsn_and_audits_each_under_the_request_id()
    {
        var (a, b, c) = (Id(), Id(), Id());
        await _app.CreateAsync("Stock", b, """{"qty":5}""");
        await _app.CreateAsync("Order", c, """{"old":true}""");
        var requestId = NvTestApp.NewRequestId();
        var response = await Batch($$$"""
            {"items":[
              {"op":"create","dtoType":"Order","entityId":"{{{a}}}","payload":{"total":10},"dtoVersion":2},
              {"op":"patch","dtoType":"Stock","entityId":"{{{b}}}","payload":{"qty":4}},
              {"op":"delete","dtoType":"Order","entityId":"{{{c}}}"}
            ]}
            """, requestId, r => r.Headers.Add("X-Reason", "checkout"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await NvTestApp.JsonAsync(response);
        var lsn = body.GetProperty("lsn").GetInt64();
        Assert.Equal(("applied", requestId), (body.GetProperty("status").GetString(), body.GetProperty("requestId").GetString()));
        var items = body.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["create", "patch", "delete"], items.Select(i => i.GetProperty("op").GetString()));
        Assert.All(items, i => Assert.Equal(("applied", lsn), (i.GetProperty("status").GetString(), i.GetProperty("lsn").GetInt64())));

        var order = await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Order/{a}");
        Assert.Equal($"\"{lsn}\"", order.Headers.ETag?.Tag);
        Assert.Equal("2", order.Headers.GetValues("X-Dto-Version").Single());
        var stock = await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Stock/{b}");
        Assert.Equal($"\"{lsn}\"", stock.Headers.ETag?.Tag);
        Assert.Equal(4, (await NvTestApp.JsonAsync(stock)).GetProperty("qty").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Order/{c}")).StatusCode);

        var audit = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/requests/{requestId}"));
        var entries = audit.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(3, entries.Count);
        Assert.All(entries, e => Assert.Equal((requestId, lsn, "checkout"),
            (e.GetProperty("requestId").GetString(), e.GetProperty("lsn").GetInt64(), e.GetProperty("reason").GetString())));
        Assert.Equal(["create", "delete", "update"], entries.Select(e => e.GetProperty("operation").GetString()).Order());
        Assert.Contains(entries, e => e.GetProperty("metadata").GetProperty("nv.dtoVersion").GetString() == "2");
    }

    [Theory]
    [InlineData("already-exists", 409, "already-exists")]
    [InlineData("not-found", 404, "not-found")]
    [InlineData("if-match", 412, "precondition-failed")]
    public async Task A_failed_item_rejects_the_whole_batch_with_a_problem_naming_it(string failure, int status, string type)
    {
        var (existing, fresh) = (Id(), Id());
        var created = await _app.CreateAsync("Order", existing, """{"v":1}""");
        var failing = failure switch
        {
            "already-exists" => $$$"""{"op":"create","dtoType":"Order","entityId":"{{{existing}}}","payload":{}}""",
            "not-found" => $$$"""{"op":"update","dtoType":"Order","entityId":"{{{Id()}}}","payload":{}}""",
            _ => $$"""{"op":"update","dtoType":"Order","entityId":"{{existing}}","payload":{},"ifMatch":"{{(await NvTestApp.JsonAsync(created)).GetProperty("lsn").GetInt64() + 1000}}"}""",
        };
        var response = await Batch($$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{fresh}}}","payload":{}},{{{failing}}}]}""");

        var problem = await NvTestApp.AssertProblemAsync(response, status, type);
        Assert.Equal(1, problem.GetProperty("failedItem").GetInt32());
        Assert.Equal("rejected", problem.GetProperty("item").GetProperty("status").GetString());
        Assert.Equal("not-applied", problem.GetProperty("items")[0].GetProperty("status").GetString());
        Assert.Contains("Batch item 1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Order/{fresh}")).StatusCode);
    }

    [Fact]
    public async Task A_batch_accepted_durable_reports_its_failed_item_through_the_request_endpoint()
    {
        var existing = Id();
        await _app.CreateAsync("Order", existing, "{}");
        var requestId = NvTestApp.NewRequestId();
        var accepted = await Batch($$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{Id()}}}","payload":{}},{"op":"create","dtoType":"Order","entityId":"{{{existing}}}","payload":{}}]}""",
            requestId, r => r.Headers.Add("Prefer", "nv-ack=durable"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("accepted", (await NvTestApp.JsonAsync(accepted)).GetProperty("items")[1].GetProperty("status").GetString());

        JsonElement status;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            status = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, accepted.Headers.Location!.OriginalString));
            await Task.Delay(20, Ct);
        }
        while (status.GetProperty("status").GetString() == "accepted" && DateTime.UtcNow < deadline);

        Assert.Equal(("rejected", "AlreadyExists", 1), (status.GetProperty("status").GetString(), status.GetProperty("rejectReason").GetString(), status.GetProperty("failedItem").GetInt32()));
    }

    [Fact]
    public async Task A_retried_batch_gets_the_same_answer_marked_replayed_and_writes_nothing()
    {
        var id = Id();
        var requestId = NvTestApp.NewRequestId();
        var body = $$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{id}}}","payload":{"n":1}}]}""";
        var first = await Batch(body, requestId);
        var retry = await Batch(body, requestId);
        Assert.Equal(first.StatusCode, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(Ct), await retry.Content.ReadAsStringAsync(Ct));
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
    }

    [Theory]
    [InlineData("""{"items":[]}""", "items")]
    [InlineData("""{"things":[]}""", "things")]
    [InlineData("""{"items":{}}""", "items")]
    [InlineData("""{"items":[{"op":"upsert","dtoType":"Order","entityId":"x","payload":{}}]}""", "items/0/op")]
    [InlineData("""{"items":[{"op":"create","dtoType":"Order","entityId":"x"}]}""", "items/0/payload")]
    [InlineData("""{"items":[{"op":"create","dtoType":"Order","entityId":"x","payload":{},"ifmatch":"1"}]}""", "items/0/ifmatch")]
    [InlineData("""{"items":[{"op":"create","dtoType":"Order","entityId":"x","payload":{},"ifMatch":"abc"}]}""", "items/0/ifMatch")]
    [InlineData("""{"items":[{"op":"create","dtoType":"Or der","entityId":"x","payload":{}}]}""", "items/0/dtoType")]
    [InlineData("""{"items":[{"op":"create","dtoType":"Order","entityId":"x","payload":{}},{"op":"delete","dtoType":"Order","entityId":"x"}]}""", "items/1/entityId")]
    [InlineData("""{"items":[{"op":"create","dtoType":"Order","entityId":"x","payload":{"$set":1}}]}""", "items/0/payload/$set")]
    public async Task Malformed_batches_are_400_naming_the_field_and_write_nothing(string body, string field)
    {
        var problem = await NvTestApp.AssertProblemAsync(await Batch(body), 400, "validation");
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_batch_needs_a_request_id_and_a_valid_dto_version_header()
    {
        var request = NvTestApp.Request(HttpMethod.Post, "/v1/batch", """{"items":[]}""");
        Assert.Equal("X-Request-Id", (await NvTestApp.AssertProblemAsync(await _app.Client.SendAsync(request, Ct), 400, "validation")).GetProperty("field").GetString());
        var badVersion = await Batch("""{"items":[]}""", headers: r => r.Headers.Add("X-Dto-Version", "two"));
        Assert.Equal("X-Dto-Version", (await NvTestApp.AssertProblemAsync(badVersion, 400, "validation")).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Limits_on_items_and_bytes_answer_413()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Pipeline:MaxBatchItems=2", "--Nv:Pipeline:MaxBatchBytes=2048");
        var items = string.Join(',', Enumerable.Range(0, 3).Select(i => "{\"op\":\"create\",\"dtoType\":\"Order\",\"entityId\":\"e" + i + "\",\"payload\":{}}"));
        var three = NvTestApp.Request(HttpMethod.Post, "/v1/batch", "{\"items\":[" + items + "]}", NvTestApp.NewRequestId());
        await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(three, Ct), 413, "payload-too-large");
        var big = NvTestApp.Request(HttpMethod.Post, "/v1/batch", $$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"e","payload":{"pad":"{{{new string('x', 3000)}}}"}}]}""", NvTestApp.NewRequestId());
        await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(big, Ct), 413, "payload-too-large");
        Assert.Equal(Nv.Wal.Lsn.None, app.Wal.LastLsn);
    }

    [Fact]
    public async Task The_dto_version_header_is_stored_with_the_entity_shown_on_reads_and_kept_by_patch()
    {
        var id = Id();
        var put = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Item/{id}", """{"a":1}""", NvTestApp.NewRequestId());
        put.Headers.Add("X-Dto-Version", "7");
        Assert.Equal(HttpStatusCode.Created, (await _app.Client.SendAsync(put, Ct)).StatusCode);
        Assert.Equal("7", (await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}")).Headers.GetValues("X-Dto-Version").Single());

        var patch = NvTestApp.Request(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"b":2}""", NvTestApp.NewRequestId(), contentType: "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, (await _app.Client.SendAsync(patch, Ct)).StatusCode);
        Assert.Equal("7", (await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}")).Headers.GetValues("X-Dto-Version").Single());

        var history = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Item/{id}/history"));
        Assert.All(history.GetProperty("entries").EnumerateArray(), e => Assert.Equal("7", e.GetProperty("metadata").GetProperty("nv.dtoVersion").GetString()));

        var plain = await _app.CreateAsync("Item", Id(), "{}");
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        var bad = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Item/{Id()}", "{}", NvTestApp.NewRequestId());
        bad.Headers.Add("X-Dto-Version", "-1");
        await NvTestApp.AssertProblemAsync(await _app.Client.SendAsync(bad, Ct), 400, "validation");
    }

    [Fact]
    public async Task A_retried_rejected_batch_whose_record_left_the_wal_still_names_its_failed_item()
    {
        // The request-id cache (of 1 here) forgets the batch once later writes are audited, and WAL truncation purges the
        // record's resolution: the retry is answered from the request outcome, which names the failed item itself (it used
        // to be kept only in the resolution: the answer said it was no longer known, and before that named item 0).
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Pipeline:RequestIdCacheSize=1");
        var existing = Id();
        await app.CreateAsync("Order", existing, "{}");
        var requestId = NvTestApp.NewRequestId();
        var body = $$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{Id()}}}","payload":{}},{"op":"create","dtoType":"Order","entityId":"{{{existing}}}","payload":{}}]}""";
        var first = await NvTestApp.AssertProblemAsync(
            await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch", body, requestId), Ct), 409, "already-exists");
        Assert.Equal(1, first.GetProperty("failedItem").GetInt32());
        for (var i = 0; i < 3; i++)
        {
            await app.CreateAsync("Order", Id(), "{}"); // audited: settled, so the batch is forgotten
        }

        await app.App.Services.GetRequiredService<Nv.DbWriter.IDbWriter>().PurgeAsync(app.Wal.DurableLsn, Ct);

        var retry = await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch", body, requestId), Ct);
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        var problem = await NvTestApp.AssertProblemAsync(retry, 409, "already-exists");
        Assert.Equal(1, problem.GetProperty("failedItem").GetInt32());
        Assert.Equal(JsonSerializer.Serialize(first.GetProperty("item")), JsonSerializer.Serialize(problem.GetProperty("item")));
        Assert.DoesNotContain("Batch item 0", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(first.GetProperty("lsn").GetInt64(), problem.GetProperty("lsn").GetInt64());
    }
}
