using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

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

    /// <summary>The client-facing detail of a database outage: the store's own message (MongoDB's names the cluster's
    /// hosts and state, with a stack trace) stays in the log, under the request id the problem carries.</summary>
    public const string DbUnavailableDetail = "The database is unavailable; retry shortly. The cause is in the host's log under this request id.";

    /// <summary>The client-facing detail of a WAL fault (the I/O error, with paths, is in the host's log).</summary>
    public const string WalFaultedDetail =
        "The write-ahead log has failed (the cause is in the host's log); Nv accepts no writes until it is restarted (recovery keeps every durable record).";

    /// <summary>A database outage answered without the store's message, which is logged with the request id.</summary>
    public static IResult DbUnavailable(HttpContext context, ILogger logger, Exception exception, string detail)
    {
        Log.HttpDbUnavailable(logger, exception, context.Request.Method, context.Request.Path.Value ?? "/", RequestIds.For(context));
        return DbUnavailable(context, detail);
    }

    /// <summary>The client-facing detail of an audit store outage (the store's message is in the host's log).</summary>
    public const string AuditUnavailableDetail =
        "The audit store could not answer; retry after Retry-After. Writes are not affected. The cause is in the host's log under this request id.";

    /// <summary>Seconds an audit read refused by an audit store outage is told to wait.</summary>
    public const string AuditUnavailableRetryAfterSeconds = "5";

    /// <summary>An audit store outage answered 503 <c>audit-unavailable</c> with <c>Retry-After</c>, without the store's
    /// message, which is logged with the request id.</summary>
    public static IResult AuditUnavailable(HttpContext context, ILogger logger, Exception exception)
    {
        Log.HttpAuditUnavailable(logger, exception, context.Request.Method, context.Request.Path.Value ?? "/", RequestIds.For(context));
        context.Response.Headers.RetryAfter = AuditUnavailableRetryAfterSeconds;
        return Create(context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.AuditUnavailable, "The audit store is unavailable", AuditUnavailableDetail);
    }

    public static IResult WalFaulted(HttpContext context, string detail) =>
        Create(context, StatusCodes.Status500InternalServerError, ProblemTypes.WalFaulted, "The write-ahead log has failed", detail);
}
