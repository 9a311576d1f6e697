using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>The last line of defence: any exception an endpoint did not map becomes a Problem+json, never a stack trace.</summary>
internal sealed class ErrorMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger _logger;

    public ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
    {
        _next = next;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            // Cleared before the answer is chosen: a mapping's own headers (Retry-After) are part of the answer.
            context.Response.Clear();
            var result = ex switch
            {
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                    Problems.TooLarge(context, "The body exceeds the configured limit."),
                BadHttpRequestException bad => Problems.Create(context, bad.StatusCode, ProblemTypes.Validation, "Bad request", bad.Message),
                // The WAL's fault (logged when it happened) names files and I/O errors: not the client's business.
                WalFaultedException => Problems.WalFaulted(context, Problems.WalFaultedDetail),
                // The pipeline's own refusals (a read or an outcome lookup before boot replay finished is a 503 not-ready).
                NvException refusal when WriteProblems.Handles(refusal) => WriteProblems.For(context, refusal, "request"),
                DbWriterException { IsTransient: true } db => Problems.DbUnavailable(context, _logger, db, Problems.DbUnavailableDetail),
                // An audit read the store could not answer (AuditStoreRead, or the pipeline's own audit queries).
                Nv.Host.Pipeline.AuditUnavailableException audit => Problems.AuditUnavailable(context, _logger, audit),
                Nv.Audit.AuditProofsUnavailableException proofs => Problems.Create(context, StatusCodes.Status501NotImplemented,
                    ProblemTypes.ProofsUnavailable, "Merkle proofs are not available", proofs.Message),
                _ => null,
            };
            if (result is null)
            {
                Log.HttpUnhandled(_logger, ex, context.Request.Method, context.Request.Path.Value ?? "/", RequestIds.For(context));
                result = Problems.Create(context, StatusCodes.Status500InternalServerError, ProblemTypes.Internal, "Internal error",
                    "An unexpected error occurred; it is logged with this request id.");
            }

            await result.ExecuteAsync(context);
        }
    }
}
