using Microsoft.AspNetCore.Http;

namespace Nv.Host.Http.Auth;

/// <summary>Authenticates the API key and enforces the endpoint's <see cref="RoleRequirement"/>; every denial is audited.</summary>
/// <remarks>Runs after routing, so it sees the endpoint's metadata (it works for any endpoint, including the Prometheus
/// scraper). 401 (no or unknown key) is audited as <c>authentication</c>, 403 (missing role) as <c>permission</c>, through
/// <see cref="DenialAuditor"/>: one by one up to the per-address limits, counted beyond them; an audit failure is logged
/// and never changes the response. A 401 and a 403 are answered under the server's request id (the one the entry
/// carries), never the caller's: a denied request did nothing under the id it sent.</remarks>
internal sealed class NvAuthMiddleware
{
    private const string ApiKeyHeader = "X-Api-Key";
    private const string UserIdHeader = "X-User-Id";
    private static readonly IReadOnlySet<string> AllRoles = NvRoles.All;

    private readonly RequestDelegate _next;
    private readonly ApiKeyStore _keys;
    private readonly DenialAuditor _denials;

    public NvAuthMiddleware(RequestDelegate next, ApiKeyStore keys, DenialAuditor denials)
    {
        _next = next;
        _keys = keys;
        _denials = denials;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var requirement = context.GetEndpoint()?.Metadata.GetMetadata<RoleRequirement>();
        if (requirement is null)
        {
            await _next(context);
            return;
        }

        if (!_keys.Enabled)
        {
            var user = context.Request.Headers[UserIdHeader].ToString();
            context.Items[NvCaller.ItemKey] = new NvCaller(user.Length == 0 ? null : user, AllRoles, Authenticated: false);
            await _next(context);
            return;
        }

        var secret = PresentedKey(context.Request);
        var key = secret is null ? null : _keys.Find(secret);
        if (key is null)
        {
            var reason = secret is null ? "no API key presented" : "unknown API key";
            var subject = secret is null ? "anonymous" : "key-sha256:" + ApiKeyStore.Hash(secret)[..12];
            await _denials.UnauthenticatedAsync(context, subject, reason, requirement.Role);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.Create(context, StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Authentication required",
                    $"This endpoint needs an API key with role '{requirement.Role}' ({reason}); send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
                    new Dictionary<string, object?> { ["requestId"] = DenialAuditor.ServerRequestId(context) })
                .ExecuteAsync(context);
            return;
        }

        if (!key.Roles.Contains(requirement.Role))
        {
            await _denials.ForbiddenAsync(context, key.Name, $"requires role '{requirement.Role}'", requirement.Role);
            await Problems.Create(context, StatusCodes.Status403Forbidden, ProblemTypes.Forbidden, "Permission denied",
                    $"API key '{key.Name}' lacks role '{requirement.Role}' needed by {context.Request.Method} {DenialAuditor.Trim(context.Request.Path.Value, 256)}.",
                    new Dictionary<string, object?> { ["requestId"] = DenialAuditor.ServerRequestId(context) })
                .ExecuteAsync(context);
            return;
        }

        context.Items[NvCaller.ItemKey] = new NvCaller(key.Name, key.Roles, Authenticated: true);
        await _next(context);
    }

    /// <summary>The secret of <c>Authorization: Bearer</c>, else of <c>X-Api-Key</c>, else null.</summary>
    public static string? PresentedKey(HttpRequest request)
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
