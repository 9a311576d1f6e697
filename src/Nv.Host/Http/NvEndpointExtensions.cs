using Microsoft.AspNetCore.Routing;
using Nv.Host.Http;
using Nv.Host.Http.Auth;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Puts Nv's HTTP API into an ASP.NET Core app: <c>app.UseNv()</c>, then <c>app.MapNvEndpoints()</c>.</summary>
public static class NvEndpointExtensions
{
    /// <summary>Adds Nv's middleware: <c>Cache-Control: no-store</c> and <c>X-Content-Type-Options: nosniff</c> on every
    /// <c>/v1</c> response, exceptions to Problem+json, with authentication off the loopback-only guard (any other Host or
    /// local address: 421), status-code pages, routing, and API-key authentication with per-endpoint roles (only endpoints
    /// that carry an Nv role requirement are checked; denials are audited).</summary>
    /// <remarks>Call after <c>builder.Services.AddNv().AddNvHttp()</c> and before <see cref="MapNvEndpoints"/>.</remarks>
    public static IApplicationBuilder UseNv(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<ApiResponseHeaders>();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseMiddleware<LoopbackOnlyMiddleware>();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseMiddleware<NvAuthMiddleware>();
        return app;
    }

    /// <summary>Maps Nv's endpoints: <c>/health/*</c>, <c>/v1/entities/*</c>, <c>/v1/batch</c>, <c>/v1/changes</c>, <c>/v1/requests/*</c>, <c>/v1/audit/*</c> (proofs
    /// and <c>POST /v1/audit/events</c> included), <c>/v1/ops/*</c>, <c>/v1/me</c> and the audit explorer page at <c>/ui</c>. Every API endpoint but the health
    /// probes and <c>/v1/me</c> requires a role (see <see cref="NvRoles"/>); the page's static files need none (it asks
    /// for a key and every API call it makes is checked).</summary>
    public static IEndpointRouteBuilder MapNvEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthEndpoints();
        app.MapEntityEndpoints();
        app.MapBatchEndpoints();
        app.MapChangeEndpoints();
        app.MapRequestEndpoints();
        app.MapAuditEndpoints();
        app.MapAuditEventEndpoints();
        app.MapProofEndpoints();
        app.MapOpsEndpoints();
        app.MapSubjectEndpoints();
        Nv.Host.Http.Ui.UiEndpoints.MapUiEndpoints(app);
        return app;
    }
}
