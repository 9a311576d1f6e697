using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;

namespace Nv.Host.Http;

/// <summary>Audit API under <c>/v1/audit</c> (role <c>auditor</c>): by request, entity history, user activity, search,
/// one entry, time travel and chain verification.</summary>
/// <remarks>The group is public to this assembly: other areas (Merkle proofs) add their endpoints with
/// <see cref="MapGroup"/> in their own file and <c>RequireNvRole(NvRoles.Auditor)</c>.</remarks>
internal static class AuditEndpoints
{
    public const string Prefix = "/v1/audit";

    /// <summary>The audit route group, already requiring the auditor role.</summary>
    public static RouteGroupBuilder MapGroup(IEndpointRouteBuilder app) => app.MapGroup(Prefix).RequireNvRole(NvRoles.Auditor);

    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var group = MapGroup(app);
        group.MapGet("/requests/{requestId}", (HttpContext c, string requestId, AuditHandler h) => h.ByRequestAsync(c, requestId, c.RequestAborted));
        group.MapGet("/entities/{dtoType}/{entityId}/history", (HttpContext c, string dtoType, string entityId, AuditHandler h) =>
            h.HistoryAsync(c, dtoType, entityId, c.RequestAborted));
        group.MapGet("/entities/{dtoType}/{entityId}/as-of", (HttpContext c, string dtoType, string entityId, AuditHandler h) =>
            h.AsOfAsync(c, dtoType, entityId, c.RequestAborted));
        group.MapGet("/users/{userId}/activity", (HttpContext c, string userId, AuditHandler h) => h.UserActivityAsync(c, userId, c.RequestAborted));
        group.MapGet("/entries", (HttpContext c, AuditHandler h) => h.SearchAsync(c, c.RequestAborted));
        group.MapGet("/entries/{id}", (HttpContext c, string id, AuditHandler h) => h.EntryAsync(c, id, c.RequestAborted));
        group.MapGet("/verify", (HttpContext c, AuditHandler h) => h.VerifyAsync(c, c.RequestAborted));
        return app;
    }
}
