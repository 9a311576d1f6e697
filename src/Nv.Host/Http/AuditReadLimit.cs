using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nv.Host.Http;

/// <summary>How many audit reads run at once: queries (the paged lists and time travel) against
/// <see cref="HttpOptions.MaxConcurrentAuditQueries"/>, chain verifications (<c>GET /v1/audit/verify</c>, a scan of the
/// whole trail) against <see cref="HttpOptions.MaxConcurrentAuditVerifications"/>. One more is answered 503
/// <c>audit-busy</c> with <c>Retry-After</c>, and nothing else is affected.</summary>
/// <remarks>A read holds its slot until its answer is written, not only until the store answered: the page is in memory
/// until then. With <see cref="HttpOptions.MaxAuditPageBytes"/> this bounds what audit readers hold together.</remarks>
internal sealed class AuditReadLimit
{
    private const string QueryRetryAfterSeconds = "1";
    private const string VerifyRetryAfterSeconds = "5";

    private readonly ConcurrencySlots _queries;
    private readonly ConcurrencySlots _verifications;
    private readonly ILogger _logger;

    public AuditReadLimit(IOptions<HttpOptions> options, ILogger<AuditReadLimit> logger)
    {
        _queries = new ConcurrencySlots(options.Value.MaxConcurrentAuditQueries);
        _verifications = new ConcurrencySlots(options.Value.MaxConcurrentAuditVerifications);
        _logger = logger;
    }

    /// <summary>Runs a query and writes its answer within <see cref="HttpOptions.MaxConcurrentAuditQueries"/>.</summary>
    public Task<IResult> QueryAsync(HttpContext context, Func<Task<IResult>> run) =>
        RunAsync(context, _queries, "audit queries", "Nv:Http:MaxConcurrentAuditQueries", QueryRetryAfterSeconds, run);

    /// <summary>Runs a chain verification and writes its answer within <see cref="HttpOptions.MaxConcurrentAuditVerifications"/>.</summary>
    public Task<IResult> VerifyAsync(HttpContext context, Func<Task<IResult>> run) =>
        RunAsync(context, _verifications, "audit chain verifications", "Nv:Http:MaxConcurrentAuditVerifications", VerifyRetryAfterSeconds, run);

    private async Task<IResult> RunAsync(
        HttpContext context, ConcurrencySlots slots, string what, string setting, string retryAfter, Func<Task<IResult>> run)
    {
        if (!slots.TryEnter())
        {
            Log.AuditReadsBusy(_logger, what, slots.Max, setting);
            context.Response.Headers.RetryAfter = retryAfter;
            return Problems.Create(context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.AuditBusy, "Too many audit reads at once",
                string.Create(CultureInfo.InvariantCulture,
                    $"This host runs at most {slots.Max} {what} at once ({setting}) and all are running; retry after Retry-After."));
        }

        try
        {
            // The answer is written inside the slot: the page it holds stays counted until it is sent.
            var result = await run();
            await result.ExecuteAsync(context);
            return Results.Empty;
        }
        finally
        {
            slots.Exit();
        }
    }
}
