using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;

namespace Nv.Host.Http;

/// <summary><c>POST /v1/batch</c> (role <c>writer</c>): an atomic multi-entity write.</summary>
internal static class BatchEndpoints
{
    public const string Route = "/v1/batch";

    public static IEndpointRouteBuilder MapBatchEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost(Route, (HttpContext context, BatchHandler handler) => handler.WriteAsync(context, context.RequestAborted))
            .RequireNvRole(NvRoles.Writer);
        return app;
    }
}
