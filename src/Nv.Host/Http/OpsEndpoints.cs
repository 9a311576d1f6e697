using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.DbWriter;
using Nv.Host.Http.Auth;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Operator endpoints (role <c>operator</c>): <c>/v1/ops/wal</c>. (The <c>nv</c> executable adds Prometheus <c>/metrics</c>.)</summary>
internal static class OpsEndpoints
{
    public static IEndpointRouteBuilder MapOpsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/ops/wal", async (IWriteAheadLog wal, IDbWriter db, CancellationToken cancellationToken) =>
        {
            Lsn? resolved = null;
            try
            {
                resolved = await db.GetResolvedThroughAsync(cancellationToken);
            }
            catch (DbWriterException)
            {
                // The database being down is itself worth seeing: the unresolved count is then unknown (null).
            }

            return Results.Json(WalStatusView.From(wal.GetStatistics(), resolved));
        }).RequireNvRole(NvRoles.Operator);
        return app;
    }
}
