using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Host.Hosting;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Anonymous health probes: <c>/health/live</c> (the process answers) and <c>/health/ready</c> (boot replay done, WAL not faulted).</summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
        app.MapGet("/health/ready", (HttpContext context, NvLifecycle lifecycle, IWriteAheadLog wal) =>
        {
            if (wal.State == WalState.Faulted)
            {
                return Problems.WalFaulted(context, "The write-ahead log has failed; Nv accepts no writes. Restart the host: recovery keeps every durable record.");
            }

            return lifecycle.IsReady
                ? Results.Ok(new { status = "ready" })
                : Problems.NotReady(context, "Boot replay has not finished, or Nv is stopping.");
        });
        return app;
    }
}
