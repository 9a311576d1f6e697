using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Audit;

namespace Nv.Host.Http.Ui;

/// <summary><c>GET /v1/audit/entries/{id}/leaf</c> (role <c>auditor</c>): the entry's fields exactly as its canonical
/// bytes encode them (<see cref="AuditLeafView"/>), for verifiers that recompute the leaf hash themselves.</summary>
internal static class AuditLeafEndpoints
{
    public static IEndpointRouteBuilder MapAuditLeafEndpoints(this IEndpointRouteBuilder app)
    {
        AuditEndpoints.MapGroup(app).MapGet("/entries/{id}/leaf", LeafAsync);
        return app;
    }

    private static async Task<IResult> LeafAsync(HttpContext context, string id, IAuditSink sink)
    {
        if (!Guid.TryParse(id, out var guid))
        {
            return Problems.Validation(context, "The audit entry id must be a UUID.", "id");
        }

        return await AuditStoreRead.RunAsync(() => sink.GetAsync(guid, context.RequestAborted)) is { } entry
            ? Results.Json(AuditLeafView.From(entry))
            : Problems.NotFound(context, $"No audit entry has id {guid}.");
    }
}
