using System.Net;

namespace Nv.Integration.Tests.Http;

/// <summary>Every <c>/v1</c> response carries <c>Cache-Control: no-store</c> and <c>X-Content-Type-Options: nosniff</c>
/// (entity states, audit entries and problems must not be cached by a browser or a proxy, nor sniffed as HTML), whatever
/// made it: an endpoint, a problem, authentication, routing.</summary>
public sealed class ApiResponseHeadersTests(KeyedAppFixture fixture) : IClassFixture<KeyedAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static string Admin => KeyedAppFixture.Secret("admin");

    private static void AssertApiHeaders(HttpResponseMessage response, string what)
    {
        Assert.True(response.Headers.CacheControl is { NoStore: true }, $"{what}: Cache-Control is '{response.Headers.CacheControl}'");
        Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var sniff) && sniff.Single() == "nosniff",
            $"{what}: no X-Content-Type-Options: nosniff");
    }

    [Fact]
    public async Task Answers_of_endpoints_problems_authentication_and_routing_all_carry_both_headers()
    {
        var id = Guid.NewGuid().ToString("N");
        var created = await _app.CreateAsync("Hdr", id, """{"a":1}""", key: Admin);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        AssertApiHeaders(created, "201 create");

        var read = await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Hdr/{id}", key: Admin);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        AssertApiHeaders(read, "200 read");

        using (var conditional = NvTestApp.Request(HttpMethod.Get, $"/v1/entities/Hdr/{id}", key: Admin))
        {
            conditional.Headers.TryAddWithoutValidation("If-None-Match", read.Headers.ETag!.Tag);
            var notModified = await _app.Client.SendAsync(conditional, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            AssertApiHeaders(notModified, "304");
        }

        var history = await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Hdr/{id}/history", key: Admin);
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        AssertApiHeaders(history, "200 audit history");

        var invalid = await _app.SendAsync(HttpMethod.Get, "/v1/audit/entries?limit=0", key: Admin);
        await NvTestApp.AssertProblemAsync(invalid, 400, "validation");
        AssertApiHeaders(invalid, "400 problem");

        var missing = await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Hdr/{Guid.NewGuid():N}", key: Admin);
        await NvTestApp.AssertProblemAsync(missing, 404, "not-found");
        AssertApiHeaders(missing, "404 problem");

        var noRoute = await _app.SendAsync(HttpMethod.Get, "/v1/no-such-route", key: Admin);
        Assert.Equal(HttpStatusCode.NotFound, noRoute.StatusCode);
        AssertApiHeaders(noRoute, "404 unknown route");

        var unauthenticated = await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Hdr/{id}");
        await NvTestApp.AssertProblemAsync(unauthenticated, 401, "unauthenticated");
        AssertApiHeaders(unauthenticated, "401");

        var forbidden = await _app.SendAsync(HttpMethod.Get, "/v1/audit/entries", key: KeyedAppFixture.Secret("writer"));
        await NvTestApp.AssertProblemAsync(forbidden, 403, "forbidden");
        AssertApiHeaders(forbidden, "403");

        var me = await _app.SendAsync(HttpMethod.Get, "/v1/me", key: Admin);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        AssertApiHeaders(me, "200 /v1/me");
    }

    [Fact]
    public async Task The_explorer_page_keeps_its_own_caching_and_the_health_probes_are_not_changed()
    {
        var page = await _app.SendAsync(HttpMethod.Get, "/ui/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.True(page.Headers.CacheControl is { NoCache: true, NoStore: false }, $"Cache-Control is '{page.Headers.CacheControl}'");

        var live = await _app.SendAsync(HttpMethod.Get, "/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.False(live.Headers.CacheControl is { NoStore: true });
    }
}
