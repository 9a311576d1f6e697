using System.Globalization;
using Microsoft.AspNetCore.Http;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Maps a pipeline <see cref="WriteOutcome"/> to its HTTP response.</summary>
/// <remarks>The response is a pure function of the outcome, so a retry with the same <c>X-Request-Id</c> gets the same status
/// and body as the first attempt (only the <c>X-Nv-Replayed: true</c> header tells them apart).</remarks>
internal static class WriteResults
{
    public const string ReplayedHeader = "X-Nv-Replayed";

    public static IResult From(HttpContext context, WriteOutcome outcome, WalOperation operation, string dtoType, string entityId, bool clientPrecondition)
    {
        if (outcome.IsReplay)
        {
            context.Response.Headers[ReplayedHeader] = "true";
        }

        var lsn = outcome.Lsn.Value;
        switch (outcome.Status)
        {
            case WriteStatus.Applied:
                var body = new WriteResponse(outcome.RequestId, "applied", lsn, OperationName(operation), dtoType, entityId);
                if (operation != WalOperation.Delete)
                {
                    context.Response.Headers.ETag = ETags.Format(outcome.Lsn);
                }

                return operation == WalOperation.Create
                    ? Results.Created(EntityEndpoints.Location(dtoType, entityId), body)
                    : Results.Ok(body);
            case WriteStatus.Rejected:
                return Rejected(context, outcome, clientPrecondition);
            case WriteStatus.Accepted:
                // Durable, not applied: a conflict or failed precondition is only known after the apply.
                return Results.Accepted(RequestEndpoints.Location(outcome.RequestId),
                    new WriteResponse(outcome.RequestId, "accepted", lsn, OperationName(operation), dtoType, entityId));
            default:
                context.Response.Headers.RetryAfter = "1";
                return Problems.DbUnavailable(context,
                    string.Create(CultureInfo.InvariantCulture,
                        $"The write is durable in the WAL at lsn {lsn} but the database is unavailable; it will be applied in the background. Retry with the same X-Request-Id to learn its outcome."),
                    lsn);
        }
    }

    private static IResult Rejected(HttpContext context, WriteOutcome outcome, bool clientPrecondition)
    {
        var ext = new Dictionary<string, object?> { ["lsn"] = outcome.Lsn.Value };
        return outcome.RejectReason switch
        {
            RejectReason.AlreadyExists => Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.AlreadyExists,
                "The entity already exists", "A create targeted an entity that already exists; use PUT or PATCH to change it.", ext),
            RejectReason.NotFound => Problems.Create(context, StatusCodes.Status404NotFound, ProblemTypes.NotFound,
                "Not found", "The entity does not exist (or was deleted).", ext),
            RejectReason.PreconditionFailed when clientPrecondition => Problems.Create(context, StatusCodes.Status412PreconditionFailed,
                ProblemTypes.PreconditionFailed, "Precondition failed", "The entity's version does not match If-Match; read it again and retry.", ext),
            RejectReason.PreconditionFailed => Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.ConcurrentModification,
                "Concurrent modification", "The entity changed between the read and the write of this patch; nothing was lost. Retry with a new X-Request-Id.", ext),
            RejectReason.Unstorable => Problems.Create(context, StatusCodes.Status422UnprocessableEntity, ProblemTypes.Unstorable,
                "The database cannot store this record", outcome.Detail ?? "The database cannot store this record; it is rejected for good.", ext),
            _ => Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.AlreadyExists, "Rejected", outcome.Detail ?? "Rejected by the database.", ext),
        };
    }

    private static string OperationName(WalOperation operation) => Nv.Audit.AuditEntryFactory.OperationName(operation);
}
