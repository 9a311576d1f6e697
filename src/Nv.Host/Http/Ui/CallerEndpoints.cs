using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;

namespace Nv.Host.Http.Ui;

/// <summary><c>GET /v1/me</c>: the roles of the presented API key, so a client (the audit explorer) can offer only what
/// the key may do. It grants nothing: every other endpoint still checks its own role.</summary>
/// <remarks>No role is needed, so <see cref="NvAuthMiddleware"/> (which enforces one role per endpoint) does not run for
/// it and this endpoint authenticates the key itself, the same way: an unknown key is a 401, logged and audited as
/// category <c>authentication</c> like every other 401 (<see cref="DenialAuditor"/>, within the same limits). Asking
/// without any key is not a denial: it answers that keys are required and grants no role.</remarks>
internal static class CallerEndpoints
{
    private const string UserIdHeader = "X-User-Id";

    public static IEndpointRouteBuilder MapCallerEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/me", MeAsync);
        return app;
    }

    private static async Task<IResult> MeAsync(HttpContext context, ApiKeyStore keys, DenialAuditor denials)
    {
        if (!keys.Enabled)
        {
            var user = context.Request.Headers[UserIdHeader].ToString();
            var everyRole = NvRoles.All.Order(StringComparer.Ordinal).ToList();
            return Results.Json(new CallerView(user.Length == 0 ? null : user, everyRole, Authenticated: false, KeysRequired: false));
        }

        var secret = NvAuthMiddleware.PresentedKey(context.Request);
        if (secret is null)
        {
            return Results.Json(new CallerView(null, [], Authenticated: false, KeysRequired: true));
        }

        if (keys.Find(secret) is { } key)
        {
            return Results.Json(new CallerView(key.Name, [.. key.Roles.Order(StringComparer.Ordinal)], Authenticated: true, KeysRequired: true));
        }

        const string reason = "unknown API key";
        await denials.UnauthenticatedAsync(context, "key-sha256:" + ApiKeyStore.Hash(secret)[..12], reason, requiredRole: null);
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Create(context, StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Authentication required",
            "The API key is not one this host knows; send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
            new Dictionary<string, object?> { ["requestId"] = DenialAuditor.ServerRequestId(context) });
    }
}
