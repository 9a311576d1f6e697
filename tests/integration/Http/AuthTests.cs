using System.Net;
using Nv.Audit;

namespace Nv.Integration.Tests.Http;

public sealed class AuthTests(KeyedAppFixture fixture) : IClassFixture<KeyedAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static readonly Dictionary<string, (string Method, string Path, string? Body, string Role)> Endpoints = new()
    {
        ["create"] = ("POST", "/v1/entities/Guarded/{id}", """{"a":1}""", "writer"),
        ["replace"] = ("PUT", "/v1/entities/Guarded/{id}", """{"a":1}""", "writer"),
        ["patch"] = ("PATCH", "/v1/entities/Guarded/{id}", """{"a":1}""", "writer"),
        ["delete"] = ("DELETE", "/v1/entities/Guarded/{id}", null, "writer"),
        ["read"] = ("GET", "/v1/entities/Guarded/{id}", null, "reader"),
        ["audit search"] = ("GET", "/v1/audit/entries", null, "auditor"),
        ["audit history"] = ("GET", "/v1/audit/entities/Guarded/{id}/history", null, "auditor"),
        ["audit as-of"] = ("GET", "/v1/audit/entities/Guarded/{id}/as-of?at=2020-01-01T00:00:00Z", null, "auditor"),
        ["audit verify"] = ("GET", "/v1/audit/verify", null, "auditor"),
        ["metrics"] = ("GET", "/metrics", null, "operator"),
        ["wal status"] = ("GET", "/v1/ops/wal", null, "operator"),
        ["audit event"] = ("POST", "/v1/audit/events", """{"category":"system-events","operation":"report-exported","entityId":"r-1"}""", "audit-writer"),
    };

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var endpoint in Endpoints.Keys)
        {
            foreach (var key in KeyedAppFixture.Roles.Keys)
            {
                data.Add(endpoint, key);
            }
        }

        return data;
    }

    private async Task<(HttpResponseMessage Response, string RequestId)> CallAsync(string endpoint, Action<HttpRequestMessage> authenticate)
    {
        var (method, path, body, _) = Endpoints[endpoint];
        var requestId = NvTestApp.NewRequestId();
        var request = NvTestApp.Request(new HttpMethod(method), path.Replace("{id}", Guid.NewGuid().ToString("N")[..10], StringComparison.Ordinal), body, requestId);
        authenticate(request);
        return (await _app.Client.SendAsync(request, TestContext.Current.CancellationToken), requestId);
    }

    private async Task<AuditEntry> AuditedAsync(string requestId, AuditCategory category)
    {
        var page = await _app.Audit.QueryAsync(new AuditQuery { RequestId = requestId, Category = category }, TestContext.Current.CancellationToken);
        return Assert.Single(page.Entries);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_role_reaches_exactly_its_endpoints_and_every_denial_is_audited(string endpoint, string key)
    {
        var (response, requestId) = await CallAsync(endpoint, r => r.Headers.Authorization = new("Bearer", KeyedAppFixture.Secret(key)));
        var allowed = KeyedAppFixture.Roles[key].Contains(Endpoints[endpoint].Role);
        if (allowed)
        {
            Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.True((int)response.StatusCode < 500, $"{endpoint} as {key}: {(int)response.StatusCode}");
            return;
        }

        await NvTestApp.AssertProblemAsync(response, 403, "forbidden");
        var entry = await AuditedAsync(requestId, AuditCategory.Permission);
        Assert.Equal(key, entry.UserId);
        Assert.Equal(Endpoints[endpoint].Role, entry.Metadata["requiredRole"]);
    }

    [Theory]
    [InlineData("create")]
    [InlineData("read")]
    [InlineData("audit search")]
    [InlineData("metrics")]
    public async Task No_key_is_a_401_problem_and_is_audited_as_authentication(string endpoint)
    {
        var (response, requestId) = await CallAsync(endpoint, _ => { });
        await NvTestApp.AssertProblemAsync(response, 401, "unauthenticated");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var entry = await AuditedAsync(requestId, AuditCategory.Authentication);
        Assert.Equal("anonymous", entry.EntityId);
    }

    [Fact]
    public async Task An_unknown_key_is_a_401_problem_audited_without_the_secret()
    {
        var (response, requestId) = await CallAsync("create", r => r.Headers.Authorization = new("Bearer", "not-a-key"));
        await NvTestApp.AssertProblemAsync(response, 401, "unauthenticated");
        var entry = await AuditedAsync(requestId, AuditCategory.Authentication);
        Assert.StartsWith("key-sha256:", entry.EntityId, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-key", System.Text.Json.JsonSerializer.Serialize(entry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_denied_write_writes_nothing_to_the_wal()
    {
        var before = _app.Wal.LastLsn;
        var (response, _) = await CallAsync("create", r => r.Headers.Authorization = new("Bearer", KeyedAppFixture.Secret("reader")));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task The_x_api_key_header_also_authenticates_and_the_key_name_is_the_user()
    {
        var (response, requestId) = await CallAsync("create", r =>
        {
            r.Headers.Add("X-Api-Key", KeyedAppFixture.Secret("writer"));
            r.Headers.Add("X-User-Id", "mallory");
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var entry = await AuditedAsync(requestId, AuditCategory.EntityMutation);
        Assert.Equal("writer", entry.UserId);
    }

    [Fact]
    public async Task Health_endpoints_need_no_key()
    {
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/health/ready")).StatusCode);
    }
}
