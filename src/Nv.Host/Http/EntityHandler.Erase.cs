using Microsoft.AspNetCore.Http;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

internal sealed partial class EntityHandler
{
    /// <summary><c>DELETE /v1/subjects/{dtoType}/{entityId}</c>: erases a data subject (crypto-shredding). Needs
    /// <c>X-Request-Id</c> (a retry returns the first outcome) and <c>X-Reason</c> (recorded in the audit trail; no personal
    /// data). Answers once the erasure is applied, audited, durable and scrubbed.</summary>
    public async Task<IResult> EraseAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        entityId = EntityIdOf(context, entityId);
        var refused = CheckHeaders(context, out _);
        if ((CheckRoute(context, dtoType, entityId) ?? CheckReady(context) ?? refused) is { } problem)
        {
            return problem;
        }

        if (context.Request.Headers["X-Reason"].ToString() is not { Length: > 0 } reason)
        {
            return Problems.Validation(context, "An erasure needs X-Reason: why the subject is erased (e.g. the request's reference; no personal data).", "X-Reason");
        }

        var caller = context.Items[NvCaller.ItemKey] as NvCaller;
        try
        {
            var outcome = await _pipeline.EraseAsync(new EraseRequest
            {
                RequestId = RequestIds.FromCaller(context)!,
                DtoType = dtoType,
                EntityId = entityId,
                Reason = reason,
                UserId = caller?.UserId,
                Metadata = Metadata(context),
            }, cancellationToken);
            if (outcome.IsReplay)
            {
                context.Response.Headers[WriteResults.ReplayedHeader] = "true";
            }

            return outcome.Status == WriteStatus.Applied
                ? Results.Ok(new EraseResponse(outcome.RequestId, "erased", outcome.Lsn.Value, dtoType, entityId,
                    outcome.Erasure?.KeysDestroyed, outcome.Erasure?.EntitiesDeleted, Scrubbed: !outcome.Unscrubbed, outcome.Detail))
                : WriteResults.From(context, outcome, WalOperation.Erase, dtoType, entityId, clientPrecondition: false);
        }
        catch (NvException ex) when (WriteProblems.Handles(ex))
        {
            return WriteProblems.For(context, ex, "erasure");
        }
    }

    /// <summary>The body of a completed erasure: how many data keys it destroyed and live entities it deleted (both 0:
    /// nothing was found to erase, and <c>detail</c> says so; a retry answers the first attempt's counts); <c>scrubbed</c>
    /// false: the entity store's files may still hold the erased rows: SQLite's WAL file while a reader held it, MongoDB's
    /// journal, oplog and free space always; <c>detail</c> says which and what to do.</summary>
    internal sealed record EraseResponse(string RequestId, string Status, long Lsn, string DtoType, string EntityId, int? KeysDestroyed,
        int? EntitiesDeleted, bool Scrubbed, string? Detail);
}
