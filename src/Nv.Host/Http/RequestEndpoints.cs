using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;

namespace Nv.Host.Http;

/// <summary><c>GET /v1/requests/{requestId}</c> (role <c>writer</c>): the outcome of an earlier write by its request id, where
/// a write answered <c>202 Accepted</c> (<c>Prefer: nv-ack=durable</c>) learns whether it was applied or rejected.</summary>
internal static class RequestEndpoints
{
    public static string Location(string requestId) => "/v1/requests/" + Uri.EscapeDataString(requestId);

    public static IEndpointRouteBuilder MapRequestEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/requests/{requestId}", async (HttpContext context, string requestId, IWritePipeline pipeline) =>
        {
            var outcome = await pipeline.GetOutcomeAsync(requestId, (context.Items[NvCaller.ItemKey] as NvCaller)?.UserId, context.RequestAborted);
            return outcome is null
                ? Problems.NotFound(context, $"No write with request id '{requestId}' is known (never written, or older than the retention window).")
                : Results.Json(new RequestStatusView(outcome.RequestId, StatusName(outcome.Status), outcome.Lsn.Value,
                    outcome.Status == WriteStatus.Rejected ? outcome.RejectReason.ToString() : null, outcome.Detail));
        }).RequireNvRole(NvRoles.Writer);
        return app;
    }

    internal static string StatusName(WriteStatus status) => status switch
    {
        WriteStatus.Applied => "applied",
        WriteStatus.Rejected => "rejected",
        WriteStatus.Pending => "pending",
        _ => "accepted",
    };

    private sealed record RequestStatusView(string RequestId, string Status, long Lsn, string? RejectReason, string? Detail);
}
