using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Nv.Host.Http.Ui;

namespace Nv.Integration.Tests.Http;

/// <summary>The audit explorer's files at <c>/ui</c>: served from the assembly with the security headers, no key needed
/// (they hold no data), nothing else reachable, and no file that could turn a trail value into markup or script.</summary>
public sealed class UiEndpointsTests(KeyedAppFixture fixture) : IClassFixture<KeyedAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    [Theory]
    [InlineData("/ui", "text/html")]
    [InlineData("/ui/", "text/html")]
    [InlineData("/ui/index.html", "text/html")]
    [InlineData("/ui/js/app.js", "text/javascript")]
    [InlineData("/ui/js/proof.js", "text/javascript")]
    [InlineData("/ui/app.css", "text/css")]
    [InlineData("/ui/icon.svg", "image/svg+xml")]
    public async Task The_page_and_its_files_are_served_without_a_key_and_with_the_security_headers(string path, string mediaType)
    {
        var response = await _app.SendAsync(HttpMethod.Get, path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.True(response.Headers.CacheControl?.NoCache);
    }

    [Theory]
    [InlineData("/ui/nope.js")]
    [InlineData("/ui/js/../../appsettings.json")]
    [InlineData("/ui/%2e%2e/appsettings.json")]
    [InlineData("/ui/..%2fappsettings.json")]
    [InlineData("/ui/Nv.Host.dll")]
    public async Task A_path_that_is_not_one_of_its_files_is_a_404_problem(string path)
    {
        var response = await _app.SendAsync(HttpMethod.Get, path);
        await NvTestApp.AssertProblemAsync(response, 404, "not-found");
    }

    [Fact]
    public async Task A_matching_etag_is_answered_with_304()
    {
        var first = await _app.SendAsync(HttpMethod.Get, "/ui/js/app.js");
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ui/js/app.js");
        request.Headers.IfNoneMatch.Add(etag);
        var second = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        using var other = new HttpRequestMessage(HttpMethod.Get, "/ui/js/app.js");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"0000\""));
        Assert.Equal(HttpStatusCode.OK, (await _app.Client.SendAsync(other, TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public void No_file_has_inline_script_inline_style_or_a_way_to_turn_a_string_into_markup_or_code()
    {
        Assert.Contains("index.html", UiAssets.ByPath.Keys);
        Assert.Contains("js/app.js", UiAssets.ByPath.Keys);
        foreach (var asset in UiAssets.ByPath.Values)
        {
            var text = Encoding.UTF8.GetString(asset.Content);
            if (asset.Path.EndsWith(".html", StringComparison.Ordinal))
            {
                // Every <script> loads a file; no on* handler or style attribute (the CSP would block them anyway).
                Assert.DoesNotMatch(new Regex(@"<script(?![^>]*\ssrc=)[^>]*>", RegexOptions.IgnoreCase), text);
                Assert.DoesNotMatch(new Regex(@"\s(on[a-z]+|style)\s*=", RegexOptions.IgnoreCase), text);
            }

            if (asset.Path.EndsWith(".js", StringComparison.Ordinal))
            {
                Assert.DoesNotMatch(new Regex(@"\.(inner|outer)HTML\b|insertAdjacentHTML\s*\(|document\.write(ln)?\s*\(|\beval\s*\(|new\s+Function\s*\(|createContextualFragment|DOMParser|setAttribute\(\s*'style'"), text);
            }
        }
    }
}
