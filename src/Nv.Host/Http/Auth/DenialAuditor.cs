using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Host.Pipeline;

namespace Nv.Host.Http.Auth;

/// <summary>Logs and audits a denied request (401 <c>authentication</c>, 403 <c>permission</c>), within the limits of
/// <see cref="DenialLimiter"/>: the first denials per address and window are written one by one (and logged), the rest are
/// only counted, for the window's <c>denials-summarized</c> entry (<see cref="DenialSummaryWriter"/>).</summary>
/// <remarks>
/// An entry written one by one is durable (or parked) before the denial is answered; a counted one costs no I/O at all, so
/// a flood of junk keys cannot grow the trail or hold the audit writer. An audit failure is logged and never changes the
/// response.
/// <para>A denied request did nothing under the id it sent, so nothing it sends is taken as the entry's identity: the
/// entry's request id is the server's (<see cref="ServerRequestId"/>, which the 401 or 403 problem carries too), never the
/// caller's <c>X-Request-Id</c> (which would let anyone attach denials to another caller's request, in
/// <c>GET /v1/audit/requests/{id}</c> and every query by request id); that header is kept only as metadata
/// <c>claimedRequestId</c>, at most 64 printable characters, so a client can still find its denials. A 403's caller holds
/// a valid key, but not one that may do what it asked: the id it names may be anyone's (request ids are scoped to their
/// caller, the audit trail's request view is not).</para>
/// </remarks>
internal sealed class DenialAuditor
{
    /// <summary>The metadata key of the request id a denied caller sent (unverified).</summary>
    public const string ClaimedRequestIdKey = "claimedRequestId";

    private readonly DenialLimiter _limiter;
    private readonly AuditCoordinator _audit;
    private readonly TimeProvider _time;
    private readonly string _service;
    private readonly ILogger _logger;

    public DenialAuditor(DenialLimiter limiter, AuditCoordinator audit, TimeProvider time, IOptions<PipelineOptions> pipeline, ILogger<DenialAuditor> logger)
    {
        _limiter = limiter;
        _audit = audit;
        _time = time;
        _service = pipeline.Value.Service;
        _logger = logger;
    }

    /// <summary>The id the server gave this request: what a 401 or 403 is audited and answered under.</summary>
    public static string ServerRequestId(HttpContext context) => "http:" + context.TraceIdentifier;

    /// <summary>A 401: no key, or one this host does not know (<paramref name="subject"/>: <c>anonymous</c> or a hash prefix).</summary>
    public Task UnauthenticatedAsync(HttpContext context, string subject, string reason, string? requiredRole)
    {
        var address = context.Connection.RemoteIpAddress;
        if (!_limiter.Admit(DenialAddress.Of(address), AuditCategory.Authentication, subject))
        {
            return Task.CompletedTask;
        }

        Log.RequestDenied(_logger, StatusCodes.Status401Unauthorized, context.Request.Method, Trim(context.Request.Path.Value, 256), subject, reason);
        return RecordAsync(() => AuditEntryFactory.AuthenticationFailed(_service, ServerRequestId(context), subject, reason, _time, Describe(context, requiredRole)),
            context.RequestAborted);
    }

    /// <summary>A 403: the key <paramref name="userId"/> lacks <paramref name="requiredRole"/>.</summary>
    public Task ForbiddenAsync(HttpContext context, string userId, string reason, string requiredRole)
    {
        if (!_limiter.Admit(DenialAddress.Of(context.Connection.RemoteIpAddress), AuditCategory.Permission, userId))
        {
            return Task.CompletedTask;
        }

        Log.RequestDenied(_logger, StatusCodes.Status403Forbidden, context.Request.Method, Trim(context.Request.Path.Value, 256), userId, reason);
        var dtoType = context.Request.RouteValues["dtoType"] as string;
        var entityId = context.Request.RouteValues["entityId"] as string ?? context.Request.Path.Value ?? "/";
        var metadata = Describe(context, requiredRole);
        return RecordAsync(() => AuditEntryFactory.PermissionDenied(_service, ServerRequestId(context), userId,
                dtoType is null ? null : Trim(dtoType, 64), Trim(entityId, 200), reason, _time, metadata),
            context.RequestAborted);
    }

    private async Task RecordAsync(Func<AuditEntry> entry, CancellationToken cancellationToken)
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

    private static Dictionary<string, string> Describe(HttpContext context, string? requiredRole)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["method"] = Trim(context.Request.Method, 16),
            ["path"] = Trim(context.Request.Path.Value, 512),
            ["remoteAddress"] = DenialAddress.Describe(context.Connection.RemoteIpAddress),
        };
        if (requiredRole is not null)
        {
            metadata["requiredRole"] = requiredRole;
        }

        if (RequestIds.FromCaller(context) is { } claimed)
        {
            metadata[ClaimedRequestIdKey] = Printable(claimed, 64);
        }

        return metadata;
    }

    // At most max characters of printable ASCII, anything else as '?'.
    private static string Printable(string value, int max)
    {
        return new string(value.Take(max).Select(static c => c is > ' ' and <= '~' ? c : '?').ToArray());
    }

    /// <summary>At most <paramref name="max"/> characters, control characters as '?'.</summary>
    public static string Trim(string? value, int max)
    {
        var text = new string((value ?? "").Select(static c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > max ? text[..max] : text;
    }
}
