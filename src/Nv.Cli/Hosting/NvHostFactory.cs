using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nv.Host.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Nv.Cli.Hosting;

/// <summary>Builds the host the same way for every command: appsettings.json, then NV_* variables, Serilog, and AddNv.</summary>
internal static class NvHostFactory
{
    /// <summary>The web host builder used by <c>nv serve</c> (see <see cref="NvWebApp"/>, which adds the HTTP API).</summary>
    public static WebApplicationBuilder CreateWebApplicationBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddNvEnvironment(builder.Configuration);
        builder.WebHost.UseUrls(builder.Configuration["urls"] ?? NvEnvironment.DefaultUrls);
        Configure(builder.Services, builder.Configuration);
        return builder;
    }

    /// <summary>A host without HTTP, used by the CLI commands.</summary>
    public static IHost CreateHost(string[] args, Action<IServiceCollection>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddNvEnvironment(builder.Configuration);
        Configure(builder.Services, builder.Configuration);
        configure?.Invoke(builder.Services);
        return builder.Build();
    }

    private static void Configure(IServiceCollection services, ConfigurationManager configuration)
    {
        services.AddSerilog((sp, lc) => lc
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .ReadFrom.Configuration(configuration)
            .ReadFrom.Services(sp)
            .Enrich.FromLogContext()
            // Logs go to stderr so stdout carries only command output (ACK lines, summaries, --json).
            .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: CultureInfo.InvariantCulture)
            .WriteTo.File(new CompactJsonFormatter(), Path.Combine(configuration["Nv:DataDirectory"] ?? "data", "logs", "nv-.json"), rollingInterval: RollingInterval.Day));
        services.AddNv(configuration.GetSection(NvHostApplicationBuilderExtensions.SectionName));
    }
}
