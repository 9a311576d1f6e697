using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;

namespace Nv.Host.Http;

/// <summary>Data subjects: <c>DELETE /v1/subjects/{dtoType}/{entityId}</c> erases one (role <c>operator</c>; see
/// <see cref="Pipeline.IWritePipeline.EraseAsync"/>).</summary>
internal static class SubjectEndpoints
{
    public const string Route = "/v1/subjects/{dtoType}/{entityId}";

    public static IEndpointRouteBuilder MapSubjectEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapDelete(Route, (HttpContext context, string dtoType, string entityId, EntityHandler handler) =>
                handler.EraseAsync(context, dtoType, entityId, context.RequestAborted))
            .RequireNvRole(NvRoles.Operator);
        return app;
    }
}
