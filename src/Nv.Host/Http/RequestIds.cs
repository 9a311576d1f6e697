using Microsoft.AspNetCore.Http;

namespace Nv.Host.Http;

/// <summary>The caller's request id (idempotency key): <c>X-Request-Id</c>, or <c>Idempotency-Key</c> (IETF httpapi
/// draft) as another name for it; or the server's trace id when there is none.</summary>
/// <remarks><c>Idempotency-Key</c> is a structured-field string in the draft (<c>Idempotency-Key: "8e03978e"</c>); a bare
/// token (as Stripe's API takes it) is accepted too. Both headers naming different ids is a 400.</remarks>
internal static class RequestIds
{
    public const string Header = "X-Request-Id";
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The caller's request id, or null when neither header is present (or one is repeated or empty).</summary>
    public static string? FromCaller(HttpContext context) => Single(context, Header) ?? IdempotencyKey(context);

    /// <summary>Why the two headers cannot both be taken, or null.</summary>
    public static string? Conflict(HttpContext context)
    {
        var requestId = Single(context, Header);
        var key = IdempotencyKey(context);
        return requestId is not null && key is not null && !string.Equals(requestId, key, StringComparison.Ordinal)
            ? $"X-Request-Id ('{Printable(requestId)}') and Idempotency-Key ('{Printable(key)}') name different request ids; send one of them (or the same id in both)."
            : null;
    }

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

    private static string? Single(HttpContext context, string header) =>
        context.Request.Headers.TryGetValue(header, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    // An sf-string ("..." with \" and \\ escapes) or a bare token.
    private static string? IdempotencyKey(HttpContext context)
    {
        var raw = Single(context, IdempotencyKeyHeader);
        if (raw is null || raw.Length < 2 || raw[0] != '"' || raw[^1] != '"')
        {
            return raw;
        }

        var text = new System.Text.StringBuilder(raw.Length);
        for (var i = 1; i < raw.Length - 1; i++)
        {
            if (raw[i] == '\\' && i + 1 < raw.Length - 1 && raw[i + 1] is '"' or '\\')
            {
                i++;
            }

            text.Append(raw[i]);
        }

        return text.Length == 0 ? null : text.ToString();
    }

    private static string Printable(string value)
    {
        var text = new string(value.Select(c => c is < ' ' or > '~' ? '?' : c).ToArray());
        return text.Length > 64 ? text[..64] + "..." : text;
    }
}
