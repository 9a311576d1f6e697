using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;

namespace Nv.Host.Http.Ui;

/// <summary><c>GET /v1/me</c>: the roles of the presented API key, so a client (the audit explorer) can offer only what
/// the key may do. It grants nothing: every other endpoint still checks its own role.</summary>
/// <remarks>No role is needed, so <see cref="NvAuthMiddleware"/> (which enforces one role per endpoint) does not run for
/// it and this endpoint authenticates the key itself, the same way: an unknown key is a 401, logged and audited as
/// category <c>authentication</c> like every other 401. Asking without any key is not a denial: it answers that keys
/// are required and grants no role.</remarks>
internal static class CallerEndpoints
{
    private const string ApiKeyHeader = "X-Api-Key";
    private const string UserIdHeader = "X-User-Id";

    public static IEndpointRouteBuilder MapCallerEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/me", MeAsync);
        return app;
    }

    private static async Task<IResult> MeAsync(
        HttpContext context, ApiKeyStore keys, AuditCoordinator audit, TimeProvider time, IOptions<PipelineOptions> pipeline,
        ILoggerFactory loggers)
    {
        if (!keys.Enabled)
        {
            var user = context.Request.Headers[UserIdHeader].ToString();
            var everyRole = NvRoles.All.Order(StringComparer.Ordinal).ToList();
            return Results.Json(new CallerView(user.Length == 0 ? null : user, everyRole, Authenticated: false, KeysRequired: false));
        }

        var secret = PresentedKey(context.Request);
        if (secret is null)
        {
            return Results.Json(new CallerView(null, [], Authenticated: false, KeysRequired: true));
        }

        if (keys.Find(secret) is { } key)
        {
            return Results.Json(new CallerView(key.Name, [.. key.Roles.Order(StringComparer.Ordinal)], Authenticated: true, KeysRequired: true));
        }

        const string reason = "unknown API key";
        var subject = "key-sha256:" + ApiKeyStore.Hash(secret)[..12];
        var logger = loggers.CreateLogger(typeof(CallerEndpoints).FullName!);
        Log.RequestDenied(logger, StatusCodes.Status401Unauthorized, context.Request.Method, "/v1/me", subject, reason);
        try
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["method"] = context.Request.Method,
                ["path"] = "/v1/me",
                ["remoteAddress"] = context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            };
            var entry = AuditEntryFactory.AuthenticationFailed(pipeline.Value.Service, RequestIds.For(context), subject, reason, time, metadata);
            await audit.RecordSystemAsync(entry, context.RequestAborted);
        }
        catch (Exception ex)
        {
            // As in NvAuthMiddleware: the denial is answered whether or not its audit entry could be written.
            Log.DenialAuditFailed(logger, ex);
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Create(context, StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Authentication required",
            "The API key is not one this host knows; send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.");
    }

    private static string? PresentedKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > 7)
        {
            return authorization[7..].Trim();
        }

        var header = request.Headers[ApiKeyHeader].ToString();
        return header.Length > 0 ? header : null;
    }
}
