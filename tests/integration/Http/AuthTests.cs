using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Audit;
using Nv.Host.Http.Auth;

namespace Nv.Integration.Tests.Http;

public sealed class AuthTests(KeyedAppFixture fixture) : IClassFixture<KeyedAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    // One way to call each route successfully, by "METHOD pattern" as the app maps it: the test fails when the app maps a
    // route this table does not know (so a new route cannot slip in without being checked here).
    private static readonly Dictionary<string, (string Path, string? Body, int Success)> Calls = new(StringComparer.Ordinal)
    {
        ["POST /v1/entities/{dtoType}/{entityId}"] = ("/v1/entities/Guarded/{new}", """{"a":1}""", 201),
        ["PUT /v1/entities/{dtoType}/{entityId}"] = ("/v1/entities/Guarded/{id}", """{"a":2}""", 200),
        ["PATCH /v1/entities/{dtoType}/{entityId}"] = ("/v1/entities/Guarded/{id}", """{"b":3}""", 200),
        ["DELETE /v1/entities/{dtoType}/{entityId}"] = ("/v1/entities/Guarded/{id}", null, 200),
        ["GET /v1/entities/{dtoType}/{entityId}"] = ("/v1/entities/Guarded/{id}", null, 200),
        ["GET /v1/audit/requests/{requestId}"] = ("/v1/audit/requests/{request}", null, 200),
        ["GET /v1/audit/entities/{dtoType}/{entityId}/history"] = ("/v1/audit/entities/Guarded/{id}/history", null, 200),
        ["GET /v1/audit/entities/{dtoType}/{entityId}/as-of"] = ("/v1/audit/entities/Guarded/{id}/as-of?at={now}", null, 200),
        ["GET /v1/audit/users/{userId}/activity"] = ("/v1/audit/users/admin/activity", null, 200),
        ["GET /v1/audit/entries"] = ("/v1/audit/entries", null, 200),
        ["GET /v1/audit/entries/{id}"] = ("/v1/audit/entries/{entry}", null, 200),
        ["GET /v1/audit/verify"] = ("/v1/audit/verify", null, 200),
        ["GET /v1/audit/entries/{id}/proof"] = ("/v1/audit/entries/{entry}/proof", null, 200),
        ["GET /v1/audit/chains/{chain}/consistency"] = ("/v1/audit/chains/nv/consistency?from=1&to=2", null, 200),
        ["GET /v1/audit/chains/{chain}/checkpoint"] = ("/v1/audit/chains/nv/checkpoint{signed}", null, 200),
        ["* /metrics"] = ("/metrics", null, 200), // the Prometheus scraper maps every method; called with GET
        ["GET /v1/ops/wal"] = ("/v1/ops/wal", null, 200),
        ["GET /v1/ops/status"] = ("/v1/ops/status", null, 200),
        ["GET /v1/audit/entries/{id}/leaf"] = ("/v1/audit/entries/{entry}/leaf", null, 200),
        ["GET /v1/requests/{requestId}"] = ("/v1/requests/{new}", null, 404), // past the role check: no such request
        ["POST /v1/batch"] = ("/v1/batch", """{"items":[{"op":"create","dtoType":"Guarded","entityId":"{new}","payload":{"a":1}}]}""", 200),
        ["GET /v1/changes"] = ("/v1/changes?follow=false", null, 200),
        ["POST /v1/audit/events"] = ("/v1/audit/events", """{"category":"system-events","operation":"report-exported","entityId":"{new}"}""", 201),
        // The fixture runs without encryption at rest: past the role check an erasure is refused (400, nothing written);
        // ErasureApiTests cover the erasure itself.
        ["DELETE /v1/subjects/{dtoType}/{entityId}"] = ("/v1/subjects/Guarded/{id}", null, 400),
    };

    // The explorer page loads without a key (it asks for one), and /v1/me authenticates the key it is given itself
    // (an unknown key is a 401, audited like any other): neither grants anything.
    private static readonly string[] Public = ["GET /health/live", "GET /health/ready", "GET /ui/{**path}", "GET /v1/me"];

    /// <summary>Every route the app maps, as "METHOD pattern", with the role it requires (null: none).</summary>
    private List<(string Route, string? Role)> MappedRoutes() =>
    [
        .. ((IEndpointRouteBuilder)_app.App).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => ($"{m} {"/" + e.RoutePattern.RawText!.TrimStart('/')}", e.Metadata.GetMetadata<RoleRequirement>()?.Role)))
            .Distinct()
            .OrderBy(r => r.Item1, StringComparer.Ordinal),
    ];

    [Fact]
    public void Every_mapped_route_except_health_requires_a_role_and_is_known_to_this_test()
    {
        var routes = MappedRoutes();
        Assert.True(routes.Count >= Calls.Count + Public.Length, $"only {routes.Count} routes found: {string.Join(", ", routes.Select(r => r.Route))}");
        var unguarded = routes.Where(r => r.Role is null && !Public.Contains(r.Route)).Select(r => r.Route).ToList();
        Assert.True(unguarded.Count == 0, $"routes without a role requirement: {string.Join(", ", unguarded)}");
        var unknown = routes.Where(r => !Public.Contains(r.Route) && !Calls.ContainsKey(r.Route)).Select(r => r.Route).ToList();
        Assert.True(unknown.Count == 0, $"routes this test does not know how to call (add them to Calls): {string.Join(", ", unknown)}");
    }

    [Fact]
    public async Task Each_role_gets_the_success_status_on_exactly_its_routes_and_every_denial_is_audited()
    {
        var failures = new List<string>();
        foreach (var (route, role) in MappedRoutes().Where(r => r.Role is not null))
        {
            foreach (var key in KeyedAppFixture.Roles.Keys)
            {
                var (path, body, success) = Calls[route];
                var requestId = NvTestApp.NewRequestId();
                // The body is resolved with the path, so that both name the same entity.
                var resolved = (await ResolveAsync(body is null ? path : path + "\u0001" + body)).Split('\u0001');
                var request = NvTestApp.Request(Method(route), resolved[0], body is null ? null : resolved[1], requestId,
                    KeyedAppFixture.Secret(key), route.StartsWith("PATCH", StringComparison.Ordinal) ? "application/merge-patch+json" : "application/json");
                using var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
                var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                if (KeyedAppFixture.Roles[key].Contains(role))
                {
                    if ((int)response.StatusCode != success)
                    {
                        failures.Add($"{route} as {key}: {(int)response.StatusCode}, expected {success}: {text}");
                    }

                    continue;
                }

                if (response.StatusCode != HttpStatusCode.Forbidden || !text.Contains("https://nv.dev/problems/forbidden", StringComparison.Ordinal))
                {
                    failures.Add($"{route} as {key}: {(int)response.StatusCode}, expected 403 forbidden: {text}");
                    continue;
                }

                // Audited under the server's id (the problem names it), the caller's X-Request-Id kept only as a claim.
                using var problem = System.Text.Json.JsonDocument.Parse(text);
                var entry = await AuditedAsync(problem.RootElement.GetProperty("requestId").GetString()!, AuditCategory.Permission);
                if (entry.UserId != key || entry.Metadata["requiredRole"] != role || entry.Metadata["claimedRequestId"] != requestId)
                {
                    failures.Add($"{route} as {key}: the denial was audited as user {entry.UserId}, role {entry.Metadata["requiredRole"]}, claimed id {entry.Metadata.GetValueOrDefault("claimedRequestId")}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    private static HttpMethod Method(string route) => route.Split(' ')[0] is var m && m == "*" ? HttpMethod.Get : new HttpMethod(m);

    // Fills a path template: {new} a fresh entity id, {id} an entity created for this call, {request} and {entry} the
    // request id and audit entry of that creation, {now} the current time; {signed}: a checkpoint is signed first.
    private async Task<string> ResolveAsync(string template)
    {
        if (template.Contains("{signed}", StringComparison.Ordinal))
        {
            var proof = NvTestApp.Request(HttpMethod.Get, await ResolveAsync("/v1/audit/entries/{entry}/proof"), key: KeyedAppFixture.Secret("admin"));
            Assert.Equal(HttpStatusCode.OK, (await _app.Client.SendAsync(proof, TestContext.Current.CancellationToken)).StatusCode);
            template = template.Replace("{signed}", "", StringComparison.Ordinal);
        }

        var path = template.Replace("{new}", Guid.NewGuid().ToString("N")[..10], StringComparison.Ordinal)
            .Replace("{now}", Uri.EscapeDataString(DateTimeOffset.UtcNow.AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture)), StringComparison.Ordinal);
        if (!path.Contains('{', StringComparison.Ordinal))
        {
            return path;
        }

        var id = Guid.NewGuid().ToString("N")[..10];
        var requestId = NvTestApp.NewRequestId();
        var created = await _app.CreateAsync("Guarded", id, """{"a":1}""", requestId, KeyedAppFixture.Secret("admin"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var entry = await AuditedAsync(requestId, AuditCategory.EntityMutation);
        return path.Replace("{id}", id, StringComparison.Ordinal).Replace("{request}", requestId, StringComparison.Ordinal)
            .Replace("{entry}", entry.Id.ToString(), StringComparison.Ordinal);
    }

    private async Task<(HttpResponseMessage Response, string RequestId)> CallAsync(string route, Action<HttpRequestMessage> authenticate)
    {
        var (path, body, _) = Calls[route];
        var requestId = NvTestApp.NewRequestId();
        var request = NvTestApp.Request(Method(route), await ResolveAsync(path), body, requestId);
        authenticate(request);
        return (await _app.Client.SendAsync(request, TestContext.Current.CancellationToken), requestId);
    }

    private async Task<AuditEntry> AuditedAsync(string requestId, AuditCategory category)
    {
        var page = await _app.Audit.QueryAsync(new AuditQuery { RequestId = requestId, Category = category }, TestContext.Current.CancellationToken);
        return Assert.Single(page.Entries);
    }

    [Theory]
    [InlineData("POST /v1/entities/{dtoType}/{entityId}")]
    [InlineData("GET /v1/entities/{dtoType}/{entityId}")]
    [InlineData("GET /v1/audit/entries")]
    [InlineData("* /metrics")]
    public async Task No_key_is_a_401_problem_and_is_audited_as_authentication(string route)
    {
        var (response, requestId) = await CallAsync(route, _ => { });
        var problem = await NvTestApp.AssertProblemAsync(response, 401, "unauthenticated");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        // Audited under the server's id (the problem names it), the caller's X-Request-Id kept only as a claim.
        var entry = await AuditedAsync(problem.GetProperty("requestId").GetString()!, AuditCategory.Authentication);
        Assert.Equal("anonymous", entry.EntityId);
        Assert.Equal(requestId, entry.Metadata["claimedRequestId"]);
    }

    [Fact]
    public async Task An_unknown_key_is_a_401_problem_audited_without_the_secret()
    {
        var (response, _) = await CallAsync("POST /v1/entities/{dtoType}/{entityId}", r => r.Headers.Authorization = new("Bearer", "not-a-key"));
        var problem = await NvTestApp.AssertProblemAsync(response, 401, "unauthenticated");
        var entry = await AuditedAsync(problem.GetProperty("requestId").GetString()!, AuditCategory.Authentication);
        Assert.StartsWith("key-sha256:", entry.EntityId, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-key", System.Text.Json.JsonSerializer.Serialize(entry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_denied_write_writes_nothing_to_the_wal()
    {
        var before = _app.Wal.LastLsn;
        var (response, _) = await CallAsync("POST /v1/entities/{dtoType}/{entityId}", r => r.Headers.Authorization = new("Bearer", KeyedAppFixture.Secret("reader")));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task The_x_api_key_header_also_authenticates_and_the_key_name_is_the_user()
    {
        var (response, requestId) = await CallAsync("POST /v1/entities/{dtoType}/{entityId}", r =>
        {
            r.Headers.Add("X-Api-Key", KeyedAppFixture.Secret("writer"));
            r.Headers.Add("X-User-Id", "mallory");
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var entry = await AuditedAsync(requestId, AuditCategory.EntityMutation);
        Assert.Equal("writer", entry.UserId);
    }

    [Fact]
    public async Task With_keys_any_host_is_served_and_the_key_decides()
    {
        var (denied, _) = await CallAsync("GET /v1/ops/wal", r => r.Headers.Host = "nv.example.com");
        await NvTestApp.AssertProblemAsync(denied, 401, "unauthenticated");
        var (allowed, _) = await CallAsync("GET /v1/ops/wal", r =>
        {
            r.Headers.Host = "nv.example.com";
            r.Headers.Authorization = new("Bearer", KeyedAppFixture.Secret("operator"));
        });
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Health_endpoints_need_no_key()
    {
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/health/ready")).StatusCode);
    }
}
