using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nv.Host.Configuration;
using Nv.Host.Diagnostics;
using Nv.Host.Hosting;
using Nv.Host.Http.Auth;
using OpenTelemetry.Metrics;

namespace Nv.Host.Http;

/// <summary>Builds the <c>nv serve</c> web application: the host (WAL, pipeline, replay) plus the HTTP API. Used by
/// <c>ServeCommand</c> and by the in-process HTTP tests, so both run exactly the same app.</summary>
/// <remarks>Middleware order: errors → routing → API key auth (reads each endpoint's <see cref="RoleRequirement"/>) → endpoints.
/// Endpoints live in one file per area (<c>*Endpoints.cs</c>); a new area adds its own file and one line in <see cref="MapEndpoints"/>.</remarks>
internal static class NvWebApp
{
    /// <summary>Meters exported on <c>/metrics</c>.</summary>
    public static readonly string[] Meters =
        [HostMetrics.MeterName, "Nv.Wal", "Nv.DbWriter", "Nv.Audit", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = NvHostFactory.CreateWebApplicationBuilder(args);
        AddHttp(builder);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseMiddleware<NvAuthMiddleware>();
        MapEndpoints(app);
        return app;
    }

    /// <summary>Checks what can only be checked once configuration is final; returns why the host must not start, or null.</summary>
    public static string? CheckStartup(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Nv.Host.Http");
        ApiKeyStore keys;
        try
        {
            keys = app.Services.GetRequiredService<ApiKeyStore>();
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }

        var urls = app.Configuration["urls"] ?? NvEnvironment.DefaultUrls;
        if (keys.Enabled)
        {
            Log.AuthEnabled(logger, keys.Count);
            return null;
        }

        if (LoopbackGuard.FirstNonLoopback(urls) is { } exposed)
        {
            return $"no API keys are configured (NV_API_KEYS, NV_API_KEYS_FILE), so authentication is off and Nv listens only on loopback; "
                + $"'{exposed}' in NV_URLS is not loopback. Configure API keys or bind to 127.0.0.1.";
        }

        Log.AuthDisabled(logger, urls);
        return null;
    }

    private static void AddHttp(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.SectionName);
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName);
        services.AddSingleton(sp => new ApiKeyStore(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>()));
        services.AddSingleton<JsonBodyReader>();
        services.AddSingleton<EntityHandler>();
        services.AddSingleton<AuditHandler>();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            // Identical outcomes must give identical bodies (idempotent retries): the request id names the request, not a trace id.
            ctx.ProblemDetails.Extensions.Remove("traceId");
            ctx.ProblemDetails.Extensions.TryAdd("requestId", RequestIds.For(ctx.HttpContext));
            if (ctx.ProblemDetails.Type is null || ctx.ProblemDetails.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                (ctx.ProblemDetails.Type, ctx.ProblemDetails.Detail) = ctx.ProblemDetails.Status switch
                {
                    StatusCodes.Status404NotFound => (ProblemTypes.NotFound, ctx.ProblemDetails.Detail ?? "No endpoint matches this path."),
                    StatusCodes.Status405MethodNotAllowed => (ProblemTypes.MethodNotAllowed, ctx.ProblemDetails.Detail ?? "This endpoint does not accept this method."),
                    StatusCodes.Status413PayloadTooLarge => (ProblemTypes.TooLarge, ctx.ProblemDetails.Detail ?? "The body exceeds the configured limit."),
                    StatusCodes.Status415UnsupportedMediaType => (ProblemTypes.UnsupportedMediaType, ctx.ProblemDetails.Detail ?? "Unsupported media type."),
                    >= 500 => (ProblemTypes.Internal, ctx.ProblemDetails.Detail ?? "An unexpected error occurred."),
                    _ => (ProblemTypes.Validation, ctx.ProblemDetails.Detail ?? "The request is invalid."),
                };
            }
        });
        var maxBody = builder.Configuration.GetValue<long?>($"{HttpOptions.SectionName}:{nameof(HttpOptions.MaxRequestBodyBytes)}")
            ?? new HttpOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = maxBody;
            kestrel.AddServerHeader = false;
        });
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter());
    }

    private static void MapEndpoints(WebApplication app)
    {
        app.MapHealthEndpoints();
        app.MapEntityEndpoints();
        app.MapAuditEndpoints();
        app.MapProofEndpoints();
        app.MapOpsEndpoints();
        Ui.UiEndpoints.MapUiEndpoints(app);
    }
}
