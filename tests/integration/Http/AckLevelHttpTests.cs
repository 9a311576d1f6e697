using System.Net;

namespace Nv.Integration.Tests.Http;

/// <summary><c>Prefer: nv-ack=durable|applied|audited</c>: 202 Accepted with a <c>Location</c> to read the outcome for durable
/// acks, <c>Preference-Applied</c> echoed, an unknown level refused with nothing written.</summary>
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
