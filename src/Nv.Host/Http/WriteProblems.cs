using Microsoft.AspNetCore.Http;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>The answers every write endpoint (entities, batches, audit events, erasures) gives to the pipeline's refusals:
/// one mapping, so an endpoint cannot forget one (a reused request id on a batch was a 500 while each handler kept its own
/// list).</summary>
internal static class WriteProblems
{
    /// <summary>True for the exceptions <see cref="For"/> answers.</summary>
    public static bool Handles(Exception exception) => exception is WriteValidationException or IdempotencyKeyReusedException
        or RequestInProgressException or SubjectPendingException or WalFaultedException or PipelineUnavailableException;

    /// <summary>The Problem+json answer to <paramref name="exception"/> (one <see cref="Handles"/> accepts).</summary>
    /// <param name="context">The request.</param>
    /// <param name="exception">What the pipeline threw.</param>
    /// <param name="what">The request's noun in a WAL-fault message ("write", "batch", "event", "erasure").</param>
    public static IResult For(HttpContext context, Exception exception, string what)
    {
        switch (exception)
        {
            case WriteValidationException { IsTooLarge: true } tooLarge:
                return Problems.TooLarge(context, tooLarge.Message);
            case WriteValidationException invalid:
                return Problems.Validation(context, invalid.Message, invalid.Field);
            case IdempotencyKeyReusedException reused:
                return Problems.Create(context, StatusCodes.Status422UnprocessableEntity, ProblemTypes.IdempotencyKeyReused,
                    "The request id was already used for a different request", reused.Message);
            case RequestInProgressException inProgress:
                context.Response.Headers.RetryAfter = "1";
                return Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.RequestInProgress, "The request is still in progress",
                    inProgress.Message);
            case SubjectPendingException pending:
                context.Response.Headers.RetryAfter = "1";
                return Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.SubjectPending,
                    "The data subject is not known until an earlier write is applied", pending.Message);
            case WalFaultedException:
                // The fault's own message names files and I/O errors; it is logged when the WAL faults.
                return Problems.WalFaulted(context, $"The {what} was not acknowledged: " + Problems.WalFaultedDetail);
            case PipelineUnavailableException { InnerException: not null, DurableLsn: var durable }:
                // A stage failed: its exception (a store's message, say), which this exception's message quotes, is
                // logged when the pipeline faults.
                return Problems.NotReady(context, durable is { } lsn
                    ? $"Nv's write pipeline has failed (the cause is in the host's log); the {what} is durable in the WAL at LSN {lsn.Value} and will be applied when Nv restarts. Retry with the same request id to learn its outcome."
                    : $"Nv's write pipeline has failed and accepts no writes until the host is restarted (the cause is in the host's log). Retry the {what} with the same request id once Nv is back.",
                    durable?.Value);
            case PipelineUnavailableException unavailable:
                return Problems.NotReady(context, unavailable.Message, unavailable.DurableLsn?.Value);
            default:
                throw new ArgumentException($"{exception.GetType().Name} is not a write refusal.", nameof(exception));
        }
    }
}
