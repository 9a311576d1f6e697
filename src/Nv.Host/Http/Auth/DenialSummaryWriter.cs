using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Host.Pipeline;

namespace Nv.Host.Http.Auth;

/// <summary>At the end of every <see cref="HttpOptions.DenialAuditWindow"/>, writes one <c>denials-summarized</c> entry per
/// address and kind for the denials <see cref="DenialLimiter"/> counted instead of writing them one by one; at stop, the
/// last (partial) window's.</summary>
/// <remarks>The entries of one window go through <see cref="AuditCoordinator.RecordSystemAsync"/> together, so they share
/// one append and one durable point; one the store cannot take is parked and stored by the next backfill (an audit
/// failure never stops the loop). Registered after the pipeline's services, so it stops before them: the last window is
/// written while the audit writer still runs, after the server has stopped taking requests.</remarks>
internal sealed class DenialSummaryWriter : BackgroundService
{
    private readonly DenialLimiter _limiter;
    private readonly AuditCoordinator _audit;
    private readonly TimeProvider _time;
    private readonly HttpOptions _http;
    private readonly string _service;
    private readonly ILogger _logger;

    public DenialSummaryWriter(
        DenialLimiter limiter, AuditCoordinator audit, TimeProvider time, IOptions<HttpOptions> http, IOptions<PipelineOptions> pipeline,
        ILogger<DenialSummaryWriter> logger)
    {
        _limiter = limiter;
        _audit = audit;
        _time = time;
        _http = http.Value;
        _service = pipeline.Value.Service;
        _logger = logger;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await WriteWindowAsync(); // what the last window counted: nothing counted is left unwritten
    }

    /// <summary>Ends the current window and writes its summaries; returns how many entries it wrote.</summary>
    internal async Task<int> WriteWindowAsync()
    {
        var summaries = _limiter.EndWindow();
        if (summaries.Count == 0)
        {
            return 0;
        }

        foreach (var summary in summaries)
        {
            Log.DenialsSummarized(_logger, summary.Count, Status(summary.Category), summary.Address, summary.WindowStart, summary.WindowEnd);
        }

        // Concurrent system entries share one append (SystemEntryQueue); RecordSystemAsync parks what it cannot store.
        await Task.WhenAll(summaries.Select(s => _audit.RecordSystemAsync(ToEntry(s), CancellationToken.None)));
        return summaries.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_limiter.Window, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await WriteWindowAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes the last window.
        }
    }

    private AuditEntry ToEntry(DenialSummary summary)
    {
        var status = Status(summary.Category);
        var from = summary.Address == DenialLimiter.OtherAddresses
            ? $"addresses beyond the first {_http.DenialAuditAddresses} of the window (Nv:Http:DenialAuditAddresses)"
            : summary.Address;
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{summary.Count} further {status} denials from {from} between {summary.WindowStart:O} and {summary.WindowEnd:O}, not written one by one " +
            $"(Nv:Http:DenialAuditsPerAddress {_http.DenialAuditsPerAddress}, DenialAuditsPerWindow {_http.DenialAuditsPerWindow})");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["count"] = summary.Count.ToString(CultureInfo.InvariantCulture),
            ["itemized"] = summary.Itemized.ToString(CultureInfo.InvariantCulture),
            ["remoteAddress"] = summary.Address,
            ["status"] = status.ToString(CultureInfo.InvariantCulture),
            ["windowStart"] = summary.WindowStart.ToString("O", CultureInfo.InvariantCulture),
            ["windowEnd"] = summary.WindowEnd.ToString("O", CultureInfo.InvariantCulture),
            ["subjects"] = string.Join(',', summary.Subjects),
        };
        if (summary.MoreSubjects)
        {
            metadata["moreSubjects"] = "true";
        }

        return AuditEntryFactory.DenialsSummarized(_service, summary.Category, summary.Address, reason, metadata, _time);
    }

    private static int Status(AuditCategory category) =>
        category == AuditCategory.Authentication ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
}
