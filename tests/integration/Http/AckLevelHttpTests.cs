using System.Net;
using Microsoft.Data.Sqlite;

namespace Nv.Integration.Tests.Http;

/// <summary><c>Prefer: nv-ack=durable|applied|audited</c>: 202 Accepted with a <c>Location</c> to read the outcome for durable
/// acks, <c>Preference-Applied</c> naming the level the answer stands for (a retry's is its first attempt's, a 503 has
/// none), an unknown level refused with nothing written.</summary>
public sealed class AckLevelHttpTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_durable_ack_is_202_with_the_lsn_and_a_location_that_reads_the_outcome_once_applied()
    {
        var id = Guid.NewGuid().ToString("N");
        var requestId = NvTestApp.NewRequestId();
        using var request = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Ack/{id}", """{"a":1}""", requestId);
        request.Headers.Add("Prefer", "respond-async, nv-ack=durable");
        var response = await _app.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("nv-ack=durable", response.Headers.GetValues("Preference-Applied").Single());
        var body = await NvTestApp.JsonAsync(response);
        Assert.Equal("accepted", body.GetProperty("status").GetString());
        var lsn = body.GetProperty("lsn").GetInt64();
        Assert.True(lsn <= _app.Wal.DurableLsn.Value, "202 was sent before the WAL made the write durable");
        Assert.Equal($"/v1/requests/{requestId}", response.Headers.Location!.OriginalString);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        string? status;
        do
        {
            var outcome = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, response.Headers.Location.OriginalString));
            status = outcome.GetProperty("status").GetString();
            Assert.Equal(lsn, outcome.GetProperty("lsn").GetInt64());
        }
        while (status == "accepted" && DateTime.UtcNow < deadline);

        Assert.Equal("applied", status);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Ack/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_durable_ack_of_a_conflicting_create_reads_as_rejected_later()
    {
        var id = Guid.NewGuid().ToString("N");
        await _app.CreateAsync("Ack", id, """{"a":1}""");
        var requestId = NvTestApp.NewRequestId();
        using var request = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Ack/{id}", """{"a":2}""", requestId);
        request.Headers.Add("Prefer", "nv-ack=durable");
        Assert.Equal(HttpStatusCode.Accepted, (await _app.Client.SendAsync(request, Ct)).StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        System.Text.Json.JsonElement outcome;
        do
        {
            outcome = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/requests/{requestId}"));
        }
        while (outcome.GetProperty("status").GetString() == "accepted" && DateTime.UtcNow < deadline);

        Assert.Equal("rejected", outcome.GetProperty("status").GetString());
        Assert.Equal("AlreadyExists", outcome.GetProperty("rejectReason").GetString());
    }

    [Theory]
    [InlineData("applied", HttpStatusCode.Created)]
    [InlineData("audited", HttpStatusCode.Created)]
    public async Task Applied_and_audited_acks_answer_with_the_outcome_and_say_which_was_applied(string level, HttpStatusCode expected)
    {
        using var request = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Ack/{Guid.NewGuid():N}", """{"a":1}""", NvTestApp.NewRequestId());
        request.Headers.Add("Prefer", "nv-ack=" + level);
        var response = await _app.Client.SendAsync(request, Ct);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("nv-ack=" + level, response.Headers.GetValues("Preference-Applied").Single());
    }

    private static async Task<HttpResponseMessage> SendAsync(NvTestApp app, HttpMethod method, string path, string json, string requestId, string? prefer)
    {
        using var request = NvTestApp.Request(method, path, json, requestId);
        if (prefer is not null)
        {
            request.Headers.Add("Prefer", prefer);
        }

        return await app.Client.SendAsync(request, Ct);
    }

    // The level an answer stands for, by its status: 202 is durable, a decided answer of a retry is applied (whether its
    // audit entry is in the trail is not known from the first attempt's outcome).
    private static void AssertRetryClaimsOnlyWhatItsAnswerIs(HttpResponseMessage retry)
    {
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        var applied = retry.Headers.GetValues("Preference-Applied").Single();
        Assert.Equal(retry.StatusCode == HttpStatusCode.Accepted ? "nv-ack=durable" : "nv-ack=applied", applied);
    }

    [Fact]
    public async Task A_retry_asking_audited_of_a_durable_first_attempt_does_not_claim_audited()
    {
        var path = $"/v1/entities/Ack/{Guid.NewGuid():N}";
        var requestId = NvTestApp.NewRequestId();
        var first = await SendAsync(_app, HttpMethod.Post, path, """{"a":1}""", requestId, "nv-ack=durable");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("nv-ack=durable", first.Headers.GetValues("Preference-Applied").Single());

        var retry = await SendAsync(_app, HttpMethod.Post, path, """{"a":1}""", requestId, "nv-ack=audited");

        Assert.True(retry.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Created, $"{retry.StatusCode}");
        AssertRetryClaimsOnlyWhatItsAnswerIs(retry);
    }

    [Fact]
    public async Task A_retry_of_a_batch_or_an_audit_event_does_not_claim_the_level_it_asked_for()
    {
        var batchId = NvTestApp.NewRequestId();
        var batch = """{"items":[{"op":"create","dtoType":"Ack","entityId":"ID","payload":{"a":1}}]}""".Replace("ID", Guid.NewGuid().ToString("N"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(_app, HttpMethod.Post, "/v1/batch", batch, batchId, "nv-ack=durable")).StatusCode);
        var batchRetry = await SendAsync(_app, HttpMethod.Post, "/v1/batch", batch, batchId, "nv-ack=audited");
        Assert.True(batchRetry.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, $"{batchRetry.StatusCode}");
        AssertRetryClaimsOnlyWhatItsAnswerIs(batchRetry);

        // An audit event is audited by default: a retry without a preference must not claim it either.
        var eventId = NvTestApp.NewRequestId();
        var body = """{"category":"system-events","operation":"report-exported","entityId":"r-1"}""";
        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(_app, HttpMethod.Post, "/v1/audit/events", body, eventId, "nv-ack=durable")).StatusCode);
        var eventRetry = await SendAsync(_app, HttpMethod.Post, "/v1/audit/events", body, eventId, null);
        Assert.True(eventRetry.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Created, $"{eventRetry.StatusCode}");
        AssertRetryClaimsOnlyWhatItsAnswerIs(eventRetry);
    }

    [Fact]
    public async Task A_write_answered_503_pending_carries_no_preference_applied()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:DbWriter:SqliteBusyTimeout=00:00:01");
        HttpResponseMessage pending;
        using (var holder = new SqliteConnection($"Data Source={Path.Combine(app.DataDirectory, "nv.db")};Pooling=False"))
        {
            holder.Open();
            using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE;";
                begin.ExecuteNonQuery();
            }

            pending = await SendAsync(app, HttpMethod.Post, $"/v1/entities/Ack/{Guid.NewGuid():N}", """{"a":1}""", NvTestApp.NewRequestId(),
                "nv-ack=applied");
        }

        await NvTestApp.AssertProblemAsync(pending, 503, "db-unavailable");
        Assert.False(pending.Headers.TryGetValues("Preference-Applied", out var claimed), "a 503 claims an ack level: " + string.Join(",", claimed ?? []));
    }

    [Fact]
    public async Task An_unknown_ack_level_is_refused_and_nothing_is_written()
    {
        var id = Guid.NewGuid().ToString("N");
        var before = _app.Wal.LastLsn;
        using var request = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Ack/{id}", """{"a":1}""", NvTestApp.NewRequestId());
        request.Headers.Add("Prefer", "nv-ack=eventually");
        var response = await _app.Client.SendAsync(request, Ct);

        var problem = await NvTestApp.AssertProblemAsync(response, 400, "validation");
        Assert.Equal("Prefer", problem.GetProperty("field").GetString());
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task An_unknown_request_id_has_no_outcome()
    {
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/requests/never-seen"), 404, "not-found");
    }
}
