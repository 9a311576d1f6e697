using Microsoft.AspNetCore.Http;

namespace Nv.Host.Http;

/// <summary>Builds Problem+json (RFC 9457) results that always carry a stable type, a title, a detail and the request id.</summary>
internal static class Problems
{
    public static IResult Create(HttpContext context, int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        var ext = new Dictionary<string, object?>(StringComparer.Ordinal) { ["requestId"] = RequestIds.For(context) };
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
            {
                ext[key] = value;
            }
        }

        return Results.Problem(detail: detail, statusCode: status, title: title, type: type, extensions: ext);
    }

    public static IResult Validation(HttpContext context, string detail, string? field = null) =>
        Create(context, StatusCodes.Status400BadRequest, ProblemTypes.Validation, "The request is invalid", detail,
            field is null ? null : new Dictionary<string, object?> { ["field"] = field });

    public static IResult TooLarge(HttpContext context, string detail) =>
        Create(context, StatusCodes.Status413PayloadTooLarge, ProblemTypes.TooLarge, "The request is too large", detail);

    public static IResult NotFound(HttpContext context, string detail) =>
        Create(context, StatusCodes.Status404NotFound, ProblemTypes.NotFound, "Not found", detail);

    public static IResult NotReady(HttpContext context, string detail, long? durableLsn = null) =>
        Create(context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.NotReady, "Nv is not ready", detail,
            durableLsn is null ? null : new Dictionary<string, object?> { ["lsn"] = durableLsn, ["durable"] = true });

    public static IResult DbUnavailable(HttpContext context, string detail, long? lsn = null) =>
        Create(context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.DbUnavailable, "The database is unavailable", detail,
            lsn is null ? null : new Dictionary<string, object?> { ["lsn"] = lsn, ["durable"] = true });

    public static IResult WalFaulted(HttpContext context, string detail) =>
        Create(context, StatusCodes.Status500InternalServerError, ProblemTypes.WalFaulted, "The write-ahead log has failed", detail);
}
