using System.Net;
using System.Text.Json;
using Nv.Audit;

namespace Nv.Integration.Tests.Http;

/// <summary><c>POST /v1/audit/events</c>: a service's own events enter the same chain and Merkle tree as entity writes,
/// idempotent by request id like writes, and bad events are refused with a Problem and write nothing.</summary>
public sealed class AuditEventApiTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Event = """
        {"category":"system-events","operation":"report-exported","entityId":"r-1","dtoType":"Report","reason":"monthly close",
         "metadata":{"format":"csv","rows":"1200"},"before":{"state":"draft"},"after":{"state":"exported","rows":1200}}
        """;

    private Task<HttpResponseMessage> PostAsync(string json, string requestId, params (string Name, string Value)[] headers)
    {
        var request = NvTestApp.Request(HttpMethod.Post, "/v1/audit/events", json, requestId);
        request.Headers.Add("X-User-Id", "billing");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return _app.Client.SendAsync(request, Ct);
    }

    [Fact]
    public async Task An_event_is_recorded_in_the_chain_with_its_fields_and_its_WAL_record()
    {
        var requestId = NvTestApp.NewRequestId();
        var response = await PostAsync(Event, requestId);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await NvTestApp.JsonAsync(response);
        Assert.Equal("applied", body.GetProperty("status").GetString());
        var entryId = body.GetProperty("entryId").GetGuid();
        Assert.Equal("/v1/audit/entries/" + entryId.ToString("D"), response.Headers.Location?.ToString());
        var entry = await _app.Audit.GetAsync(entryId, Ct);
        Assert.NotNull(entry);
        Assert.Equal((AuditCategory.SystemEvents, "report-exported", "r-1", "Report"), (entry.Category, entry.Operation, entry.EntityId, entry.DtoType));
        Assert.Equal(("billing", "monthly close", requestId), (entry.UserId, entry.Reason, entry.RequestId));
        Assert.Equal("csv", entry.Metadata["format"]);
        Assert.Equal("""{"state":"draft"}""", entry.Before!.Value.GetRawText());
        Assert.Contains(entry.Changes, c => c.Path == "/state");
        Assert.Equal(body.GetProperty("lsn").GetInt64(), entry.Lsn!.Value.Value);
        Assert.NotNull(entry.WalRecordHash);
        var proof = await ((IAuditProofs)_app.Audit).GetInclusionProofAsync(entryId, null, Ct);
        Assert.True(proof!.Verify());
    }

    [Fact]
    public async Task A_retry_returns_the_first_outcome_and_the_same_id_for_another_event_is_422()
    {
        var requestId = NvTestApp.NewRequestId();
        var first = await NvTestApp.JsonAsync(await PostAsync(Event, requestId));
        var lastLsn = _app.Wal.LastLsn;

        var retry = await PostAsync(Event, requestId);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        Assert.Equal(first.GetRawText(), (await NvTestApp.JsonAsync(retry)).GetRawText());
        Assert.Equal(lastLsn, _app.Wal.LastLsn);

        await NvTestApp.AssertProblemAsync(await PostAsync(Event.Replace("monthly close", "another reason", StringComparison.Ordinal), requestId),
            422, "idempotency-key-reused");
        Assert.Equal(lastLsn, _app.Wal.LastLsn);
        var entries = await _app.Audit.QueryAsync(new AuditQuery { RequestId = requestId }, Ct);
        Assert.Single(entries.Entries);
    }

    [Theory]
    [InlineData("""{"category":"entity-mutation","operation":"update","entityId":"o-1"}""", "category")]
    [InlineData("""{"category":"nonsense","operation":"x","entityId":"o-1"}""", "category")]
    [InlineData("""{"operation":"x","entityId":"o-1"}""", "category")]
    [InlineData("""{"category":"permission","entityId":"o-1"}""", "operation")]
    [InlineData("""{"category":"permission","operation":"has spaces","entityId":"o-1"}""", "operation")]
    [InlineData("""{"category":"permission","operation":"x"}""", "entityId")]
    [InlineData("""{"category":"permission","operation":"x","entityId":"a/b"}""", "entityId")]
    [InlineData("""{"category":"permission","operation":"x","entityId":"o-1","dtoType":"1bad"}""", "dtoType")]
    [InlineData("""{"category":"permission","operation":"x","entityId":"o-1","userId":"mallory"}""", "body")]
    [InlineData("""{"category":"permission","operation":"x","entityId":"o-1","metadata":{"n":1}}""", "metadata")]
    [InlineData("""{"category":"permission","operation":"x","entityId":"o-1","after":{"$set":1}}""", "payload/after/$set")]
    public async Task A_bad_event_is_400_naming_the_field_and_writes_nothing(string json, string field)
    {
        var before = _app.Wal.LastLsn;
        var problem = await NvTestApp.AssertProblemAsync(await PostAsync(json, NvTestApp.NewRequestId()), 400, "validation");
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task Without_a_request_id_or_with_a_bad_ack_nothing_is_written()
    {
        var before = _app.Wal.LastLsn;
        var request = NvTestApp.Request(HttpMethod.Post, "/v1/audit/events", Event);
        await NvTestApp.AssertProblemAsync(await _app.Client.SendAsync(request, Ct), 400, "validation");
        await NvTestApp.AssertProblemAsync(await PostAsync(Event, NvTestApp.NewRequestId(), ("Prefer", "nv-ack=eventually")), 400, "validation");
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task A_durable_ack_answers_202_once_the_WAL_holds_the_event()
    {
        var requestId = NvTestApp.NewRequestId();
        var response = await PostAsync(Event, requestId, ("Prefer", "nv-ack=durable"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("nv-ack=durable", response.Headers.GetValues("Preference-Applied").Single());
        var body = await NvTestApp.JsonAsync(response);
        Assert.Equal("accepted", body.GetProperty("status").GetString());
        var entryId = body.GetProperty("entryId").GetGuid();
        for (var i = 0; i < 200 && await _app.Audit.GetAsync(entryId, Ct) is null; i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.NotNull(await _app.Audit.GetAsync(entryId, Ct));
    }

    [Fact]
    public async Task Events_and_entity_writes_share_one_chain_that_verifies()
    {
        await _app.CreateAsync("Item", Guid.NewGuid().ToString("N")[..8], """{"v":1}""");
        await PostAsync("""{"category":"permission","operation":"role-granted","entityId":"user-7","after":{"role":"auditor"}}""", NvTestApp.NewRequestId());
        await _app.CreateAsync("Item", Guid.NewGuid().ToString("N")[..8], """{"v":2}""");
        var verified = await ((IAuditProofs)_app.Audit).VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        var service = (await _app.Audit.QueryAsync(new AuditQuery { Operation = "role-granted" }, Ct)).Entries.Single().Service;
        var chain = await _app.Audit.QueryAsync(new AuditQuery { Service = service, Limit = 1000 }, Ct);
        Assert.Contains(chain.Entries, e => e.Category == AuditCategory.EntityMutation);
        JsonSerializer.Serialize(chain.Entries.Select(e => e.Sequence)); // every entry has its place in the one chain
        Assert.Equal(chain.Entries.Count, chain.Entries.Select(e => e.Sequence).Distinct().Count());
    }
}
