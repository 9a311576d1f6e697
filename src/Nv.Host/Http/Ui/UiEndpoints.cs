using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Nv.Host.Http.Ui;

/// <summary>The audit explorer: a static page at <c>/ui</c> and the few API endpoints it needs that the API lacked
/// (<c>GET /v1/me</c>, <c>GET /v1/audit/entries/{id}/leaf</c>, <c>GET /v1/ops/status</c>).</summary>
/// <remarks>The page's files need no key: they hold no data. Every call the page makes carries the API key the user
/// typed (kept in the tab's <c>sessionStorage</c>) and is authorized by <see cref="Auth.NvAuthMiddleware"/> like any
/// other client's. Files are served from memory with <see cref="UiSecurityHeaders"/>.</remarks>
internal static class UiEndpoints
{
    public const string Prefix = "/ui";
    private const string IndexPath = "index.html";

    public static IEndpointRouteBuilder MapUiEndpoints(this IEndpointRouteBuilder app)
    {
        // One route: the catch-all also matches "/ui" and "/ui/" (empty path), which serve the page itself.
        app.MapGet(Prefix + "/{**path}", (HttpContext context, string? path) =>
            Serve(context, string.IsNullOrEmpty(path) ? IndexPath : path));
        app.MapCallerEndpoints();
        app.MapAuditLeafEndpoints();
        app.MapOpsStatusEndpoints();
        return app;
    }

    private static IResult Serve(HttpContext context, string path)
    {
        UiSecurityHeaders.Apply(context.Response);
        if (UiAssets.Find(path) is not { } asset)
        {
            return Problems.NotFound(context, $"The audit explorer has no file '{Trim(path)}'.");
        }

        context.Response.Headers.ETag = asset.ETag;
        var ifNoneMatch = context.Request.Headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0 && EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)
            && tags.Any(t => t.Tag.Equals(asset.ETag, StringComparison.Ordinal) || t.Tag == "*"))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static string Trim(string path)
    {
        var text = new string(path.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 128 ? text[..128] : text;
    }
}
