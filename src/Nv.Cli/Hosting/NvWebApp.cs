using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Diagnostics;
using Nv.Host.Http;
using Nv.Host.Http.Auth;
using OpenTelemetry.Metrics;

namespace Nv.Cli.Hosting;

/// <summary>Builds the <c>nv serve</c> web application: the Nv hosting library (<c>AddNv</c>, <c>AddNvHttp</c>, <c>UseNv</c>,
/// <c>MapNvEndpoints</c>) with Serilog, OpenTelemetry's Prometheus <c>/metrics</c> and, when configured, traces
/// (<see cref="NvTracing"/>). Used by <c>ServeCommand</c> and by
/// the in-process HTTP tests, so both run exactly the same app.</summary>
internal static class NvWebApp
{
    /// <summary>Meters exported on <c>/metrics</c>.</summary>
    public static readonly string[] Meters =
        [.. NvTelemetry.MeterNames, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = NvHostFactory.CreateWebApplicationBuilder(args);
        builder.Services.AddNvHttp();
        var telemetry = builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter());
        NvTracing.Add(telemetry, builder.Configuration);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseNv();
        app.MapNvEndpoints();
        app.MapPrometheusScrapingEndpoint("/metrics").RequireNvRole(NvRoles.Operator);
        return app;
    }

    /// <summary>Starts the app, then checks what its server actually listens on (<see cref="NvHttpStartup.CheckListening"/>:
    /// with authentication off, loopback only); on a refusal the app is stopped again and the refusal returned.</summary>
    public static async Task<string?> StartCheckedAsync(WebApplication app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        await app.StartAsync(cancellationToken);
        if (NvHttpStartup.CheckListening(app.Services) is { } refusal)
        {
            await app.StopAsync(CancellationToken.None);
            return refusal;
        }

        return null;
    }

    /// <summary>Checks what can only be checked once configuration is final; returns why the host must not start, or null.</summary>
    public static string? CheckStartup(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return NvTracing.Check(app.Configuration) ?? NvHttpStartup.Check(app.Services, app.Configuration)
            ?? Nv.Host.Protection.EncryptionStartup.Check(app.Services);
    }
}
