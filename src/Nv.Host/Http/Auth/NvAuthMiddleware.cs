using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Host.Pipeline;

namespace Nv.Host.Http.Auth;

/// <summary>Authenticates the API key and enforces the endpoint's <see cref="RoleRequirement"/>; every denial is audited.</summary>
/// <remarks>Runs after routing, so it sees the endpoint's metadata (it works for any endpoint, including the Prometheus
/// scraper). 401 (no or unknown key) is audited as <c>authentication</c>, 403 (missing role) as <c>permission</c>, through
/// <see cref="AuditCoordinator.RecordSystemAsync"/>; an audit failure is logged and never changes the response.</remarks>
internal sealed class NvAuthMiddleware
{
    private const string ApiKeyHeader = "X-Api-Key";
    private const string UserIdHeader = "X-User-Id";
    private static readonly IReadOnlySet<string> AllRoles = NvRoles.All;

    private readonly RequestDelegate _next;
    private readonly ApiKeyStore _keys;
    private readonly AuditCoordinator _audit;
    private readonly TimeProvider _time;
    private readonly string _service;
    private readonly ILogger _logger;

    public NvAuthMiddleware(
        RequestDelegate next, ApiKeyStore keys, AuditCoordinator audit, TimeProvider time, IOptions<PipelineOptions> pipeline, ILogger<NvAuthMiddleware> logger)
    {
        _next = next;
        _keys = keys;
        _audit = audit;
        _time = time;
        _service = pipeline.Value.Service;
        _logger = logger;
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
            Log.RequestDenied(_logger, StatusCodes.Status401Unauthorized, context.Request.Method, Trim(context.Request.Path.Value, 256), subject, reason);
            await AuditAsync(() => AuditEntryFactory.AuthenticationFailed(_service, RequestIds.For(context), subject, reason, _time, Describe(context, requirement)),
                context.RequestAborted);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.Create(context, StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Authentication required",
                $"This endpoint needs an API key with role '{requirement.Role}' ({reason}); send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.")
                .ExecuteAsync(context);
            return;
        }

        if (!key.Roles.Contains(requirement.Role))
        {
            var reason = $"requires role '{requirement.Role}'";
            Log.RequestDenied(_logger, StatusCodes.Status403Forbidden, context.Request.Method, Trim(context.Request.Path.Value, 256), key.Name, reason);
            var dtoType = context.Request.RouteValues["dtoType"] as string;
            var entityId = context.Request.RouteValues["entityId"] as string ?? context.Request.Path.Value ?? "/";
            await AuditAsync(() => AuditEntryFactory.PermissionDenied(_service, RequestIds.For(context), key.Name,
                    dtoType is null ? null : Trim(dtoType, 64), Trim(entityId, 200), reason, _time, Describe(context, requirement)),
                context.RequestAborted);
            await Problems.Create(context, StatusCodes.Status403Forbidden, ProblemTypes.Forbidden, "Permission denied",
                $"API key '{key.Name}' lacks role '{requirement.Role}' needed by {context.Request.Method} {Trim(context.Request.Path.Value, 256)}.")
                .ExecuteAsync(context);
            return;
        }

        context.Items[NvCaller.ItemKey] = new NvCaller(key.Name, key.Roles, Authenticated: true);
        await _next(context);
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

    private async Task AuditAsync(Func<AuditEntry> entry, CancellationToken cancellationToken)
    {
        try
        {
            await _audit.RecordSystemAsync(entry(), cancellationToken);
        }
        catch (Exception ex)
        {
            // A denial is answered whether or not its audit entry could be written.
            Log.DenialAuditFailed(_logger, ex);
        }
    }

    private static Dictionary<string, string> Describe(HttpContext context, RoleRequirement requirement) => new(StringComparer.Ordinal)
    {
        ["method"] = context.Request.Method,
        ["path"] = Trim(context.Request.Path.Value, 512),
        ["requiredRole"] = requirement.Role,
        ["remoteAddress"] = context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
    };

    private static string Trim(string? value, int max)
    {
        var text = new string((value ?? "").Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > max ? text[..max] : text;
    }
}
