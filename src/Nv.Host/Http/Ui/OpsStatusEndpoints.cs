using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Hosting;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http.Ui;

/// <summary><c>GET /v1/ops/status</c> (role <c>operator</c>): one reading of the WAL positions and lags and of each audit
/// chain's size and last checkpoint, for the audit explorer's operations view (it polls every few seconds).</summary>
/// <remarks>Cheap by design: WAL statistics are in memory, the chain size is one indexed query for the newest entries and
/// the checkpoint one indexed lookup. A failing database or audit store is reported in the answer, not as an error, since
/// that is exactly when an operator looks.</remarks>
internal static class OpsStatusEndpoints
{
    // Entries are ordered by time in queries; the chain's head is the highest sequence among the newest few (entries are
    // appended in time order, and a backfill appends older records in their own time order).
    private const int HeadWindow = 64;

    public static IEndpointRouteBuilder MapOpsStatusEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/ops/status", StatusAsync).RequireNvRole(NvRoles.Operator);
        return app;
    }

    private static async Task<IResult> StatusAsync(
        HttpContext context, IWriteAheadLog wal, IDbWriter db, IAuditSink sink, NvLifecycle lifecycle, IOptions<PipelineOptions> pipeline,
        TimeProvider time, WritePipeline writes, ILoggerFactory loggers)
    {
        var cancellationToken = context.RequestAborted;
        var stats = wal.GetStatistics();
        Lsn? resolved = null;
        try
        {
            resolved = await db.GetResolvedThroughAsync(cancellationToken);
        }
        catch (DbWriterException)
        {
            // The database being down shows as an unknown unresolved count, as in GET /v1/ops/wal.
        }

        var logger = loggers.CreateLogger(typeof(OpsStatusEndpoints).FullName!);
        var chain = await ChainAsync(context, logger, sink, pipeline.Value.Service, cancellationToken);
        var view = WalStatusView.From(stats, resolved);
        var applied = Math.Max(view.AppliedLsn, writes.Positions.Applied.Value);
        var audited = Math.Max(view.AuditedLsn, writes.Positions.Audited.Value);
        return Results.Json(new OpsStatusView(
            time.GetUtcNow(),
            lifecycle.IsReady && stats.State != WalState.Faulted,
            view,
            applied,
            audited,
            Math.Max(0, view.DurableLsn - applied),
            Math.Max(0, applied - audited),
            writes.Backpressure,
            [chain]));
    }

    private static async Task<ChainStatusView> ChainAsync(
        HttpContext context, ILogger logger, IAuditSink sink, string chain, CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        long size;
        try
        {
            var newest = await sink.QueryAsync(new AuditQuery { Service = chain, Limit = HeadWindow }, cancellationToken);
            size = newest.Entries.Count == 0 ? 0 : newest.Entries.Max(e => e.Sequence);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store's message (MongoDB's names hosts and cluster state) goes to the log, not into the page.
            Log.OpsStatusReadFailed(logger, ex, "size", chain, RequestIds.For(context));
            return new ChainStatusView(chain, null, null, null,
                "the audit store could not be read; the cause is in the host's log under request id " + RequestIds.For(context));
        }

        IAuditProofs proofs;
        try
        {
            proofs = services.GetRequiredService<IAuditProofs>();
        }
        catch (NotSupportedException ex)
        {
            return new ChainStatusView(chain, size, null, null, ex.Message);
        }

        try
        {
            var latest = await proofs.GetLatestCheckpointAsync(chain, cancellationToken);
            var checkpoint = latest?.Checkpoint is { } c ? new CheckpointStatusView(c.TreeSize, c.Timestamp, c.KeyId) : null;
            return new ChainStatusView(chain, size, checkpoint, checkpoint is null ? size : Math.Max(0, size - checkpoint.Size), null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.OpsStatusReadFailed(logger, ex, "checkpoints", chain, RequestIds.For(context));
            return new ChainStatusView(chain, size, null, null,
                "the checkpoints could not be read; the cause is in the host's log under request id " + RequestIds.For(context));
        }
    }
}
