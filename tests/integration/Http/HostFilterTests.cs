using System.Net;
using Nv.Audit;

namespace Nv.Integration.Tests.Http;

/// <summary>DNS rebinding: with authentication off, a web page whose name now resolves to 127.0.0.1 reaches Nv with its own
/// name in <c>Host</c>. Only localhost and loopback literals are served; any other Host is 421 and nothing runs.</summary>
public sealed class HostFilterTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("POST", "/v1/entities/Order/rebind", """{"a":1}""")]
    [InlineData("GET", "/v1/audit/entries", null)]
    [InlineData("GET", "/v1/entities/Order/rebind", null)]
    [InlineData("GET", "/ui/", null)]
    [InlineData("GET", "/no/such/route", null)]
    public async Task Another_host_is_421_and_nothing_is_written(string method, string path, string? body)
    {
        var lsn = _app.Wal.LastLsn;
        var entries = await CountEntriesAsync();
        foreach (var host in new[] { "attacker.example:5395", "attacker.example", "localhost.attacker.example", "127.0.0.1.nip.io:80", "0.0.0.0:5080" })
        {
            using var request = NvTestApp.Request(new HttpMethod(method), path, body, NvTestApp.NewRequestId());
            request.Headers.Host = host;
            using var response = await _app.Client.SendAsync(request, Ct);
            var problem = await NvTestApp.AssertProblemAsync(response, 421, "host-not-allowed");
            Assert.Contains("localhost", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(lsn, _app.Wal.LastLsn);
        Assert.Equal(entries, await CountEntriesAsync());
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST:5080")]
    [InlineData("127.0.0.1:5080")]
    [InlineData("[::1]:5080")]
    [InlineData("[::1]")]
    public async Task Loopback_names_are_served(string host)
    {
        using var request = NvTestApp.Request(HttpMethod.Post, "/v1/entities/Order/" + Guid.NewGuid().ToString("N")[..10], """{"a":1}""", NvTestApp.NewRequestId());
        request.Headers.Host = host;
        using var response = await _app.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<int> CountEntriesAsync()
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var page = await _app.Audit.QueryAsync(new AuditQuery { Limit = 1000, Cursor = cursor }, Ct);
            count += page.Entries.Count;
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return count;
    }
}
