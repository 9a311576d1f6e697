using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;

namespace Nv.Host.Http;

/// <summary><c>GET /v1/requests/{requestId}</c> (role <c>writer</c>): the outcome of an earlier write by its request id, where
/// a write answered <c>202 Accepted</c> (<c>Prefer: nv-ack=durable</c>) learns whether it was applied or rejected; an
/// erasure's outcome carries the counts of what it destroyed, as its own answer did.</summary>
internal static class RequestEndpoints
{
    public static string Location(string requestId) => "/v1/requests/" + Uri.EscapeDataString(requestId);

    public static IEndpointRouteBuilder MapRequestEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/requests/{requestId}", async (HttpContext context, string requestId, IWritePipeline pipeline) =>
        {
            // Readiness first: if replay finishes (and applies this write) during the lookup, "not ready" is still true.
            var ready = pipeline.IsReady;
            var outcome = await pipeline.GetOutcomeAsync(requestId, (context.Items[NvCaller.ItemKey] as NvCaller)?.UserId, context.RequestAborted);
            return Answer(context, requestId, outcome, ready);
        }).RequireNvRole(NvRoles.Writer);
        return app;
    }

    // Unknown while boot replay runs (or Nv stops) is not "never written": a write answered 202 before a crash is only
    // known again once replay applied it, and a client told 404 might write it again under a new id.
    internal static IResult Answer(HttpContext context, string requestId, WriteOutcome? outcome, bool ready) => outcome switch
    {
        null when !ready => Problems.NotReady(context,
            $"No outcome for request id '{requestId}' is known yet: boot replay has not finished (or Nv is stopping), and a durable write may still be replayed. Retry shortly."),
        null => Problems.NotFound(context, $"No write with request id '{requestId}' is known (never written, or older than the retention window)."),
        _ => Results.Json(new RequestStatusView(outcome.RequestId, StatusName(outcome.Status), outcome.Lsn.Value,
            outcome.Status == WriteStatus.Rejected ? outcome.RejectReason.ToString() : null, outcome.Detail, outcome.FailedItem,
            outcome.Erasure?.KeysDestroyed, outcome.Erasure?.EntitiesDeleted)),
    };

    internal static string StatusName(WriteStatus status) => status switch
    {
        WriteStatus.Applied => "applied",
        WriteStatus.Rejected => "rejected",
        WriteStatus.Pending => "pending",
        _ => "accepted",
    };

    // FailedItem: for a rejected batch (POST /v1/batch), the item that rejected it. KeysDestroyed, EntitiesDeleted: for an
    // applied erasure (DELETE /v1/subjects/...), what it destroyed, as its own answer said (null for any other write).
    private sealed record RequestStatusView(string RequestId, string Status, long Lsn, string? RejectReason, string? Detail, int? FailedItem,
        int? KeysDestroyed, int? EntitiesDeleted);
}
