using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;

namespace Nv.Host.Http;

/// <summary><c>POST /v1/audit/events</c> (role <c>audit-writer</c>): a service records its own audit event.</summary>
/// <remarks>Outside the <c>/v1/audit</c> reading group on purpose: writing events and reading the trail are separate roles.</remarks>
internal static class AuditEventEndpoints
{
    public const string Path = AuditEndpoints.Prefix + "/events";

    public static IEndpointRouteBuilder MapAuditEventEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, (HttpContext c, AuditEventHandler h) => h.RecordAsync(c, c.RequestAborted)).RequireNvRole(NvRoles.AuditWriter);
        return app;
    }
}
