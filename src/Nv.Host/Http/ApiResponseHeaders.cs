using Microsoft.AspNetCore.Http;

namespace Nv.Host.Http;

/// <summary>Puts <c>Cache-Control: no-store</c> and <c>X-Content-Type-Options: nosniff</c> on every response under
/// <c>/v1</c>: entity states, audit entries and problems are never cached by a browser or a shared proxy, and no
/// browser guesses a content type other than the one sent (a JSON body read as HTML).</summary>
/// <remarks>Set when the response starts, so every answer gets them however it was made: an endpoint's, a problem
/// written by <see cref="ErrorMiddleware"/> after it cleared the response, a 401/403 from authentication, a 404 for an
/// unknown route, a 304, the change feed's event stream.</remarks>
internal sealed class ApiResponseHeaders
{
    private const string Prefix = "/v1";

    private readonly RequestDelegate _next;

    public ApiResponseHeaders(RequestDelegate next)
    {
        _next = next;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.OnStarting(static state =>
            {
                Apply(((HttpContext)state).Response);
                return Task.CompletedTask;
            }, context);
        }

        return _next(context);
    }

    public static void Apply(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
    }
}
