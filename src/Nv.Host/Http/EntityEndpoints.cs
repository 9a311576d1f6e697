using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Entity API: <c>/v1/entities/{dtoType}/{entityId}</c> — POST create, PUT replace, PATCH merge patch, DELETE, GET.</summary>
internal static class EntityEndpoints
{
    public const string Route = "/v1/entities/{dtoType}/{entityId}";

    public static string Location(string dtoType, string entityId) => $"/v1/entities/{dtoType}/{Uri.EscapeDataString(entityId)}";

    public static IEndpointRouteBuilder MapEntityEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet(Route, (HttpContext context, string dtoType, string entityId, EntityHandler handler) =>
                handler.GetAsync(context, dtoType, entityId, context.RequestAborted))
            .RequireNvRole(NvRoles.Reader);
        app.MapPost(Route, (HttpContext context, string dtoType, string entityId, EntityHandler handler) =>
                handler.WriteAsync(context, WalOperation.Create, dtoType, entityId, context.RequestAborted))
            .RequireNvRole(NvRoles.Writer);
        app.MapPut(Route, (HttpContext context, string dtoType, string entityId, EntityHandler handler) =>
                handler.WriteAsync(context, WalOperation.Update, dtoType, entityId, context.RequestAborted))
            .RequireNvRole(NvRoles.Writer);
        app.MapDelete(Route, (HttpContext context, string dtoType, string entityId, EntityHandler handler) =>
                handler.WriteAsync(context, WalOperation.Delete, dtoType, entityId, context.RequestAborted))
            .RequireNvRole(NvRoles.Writer);
        app.MapPatch(Route, (HttpContext context, string dtoType, string entityId, EntityHandler handler) =>
                handler.PatchAsync(context, dtoType, entityId, context.RequestAborted))
            .RequireNvRole(NvRoles.Writer);
        return app;
    }
}
