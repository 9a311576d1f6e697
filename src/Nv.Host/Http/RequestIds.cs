using Microsoft.AspNetCore.Http;

namespace Nv.Host.Http;

/// <summary>The caller's <c>X-Request-Id</c> (idempotency key), or the server's trace id when there is none.</summary>
internal static class RequestIds
{
    public const string Header = "X-Request-Id";

    /// <summary>The caller's request id, or null when the header is absent or empty.</summary>
    public static string? FromCaller(HttpContext context) =>
        context.Request.Headers.TryGetValue(Header, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    /// <summary>The id to name this request by in problems and audit entries (bounded, printable).</summary>
    public static string For(HttpContext context)
    {
        var id = FromCaller(context);
        if (id is null || id.Length > 128 || id.Any(c => c <= ' ' || c > '~'))
        {
            return "http:" + context.TraceIdentifier;
        }

        return id;
    }
}
