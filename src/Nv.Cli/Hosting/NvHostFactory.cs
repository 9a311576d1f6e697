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
    /// <param name="args">Command-line configuration.</param>
    /// <param name="configure">Changes to the services after AddNv (options of one command).</param>
    /// <param name="fileLog">Also log to <c>logs/nv-*.json</c> in the data directory; the read-only commands do not, so they
    /// create and change nothing there (their log still goes to stderr).</param>
    public static IHost CreateHost(string[] args, Action<IServiceCollection>? configure = null, bool fileLog = true)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddNvEnvironment(builder.Configuration);
        Configure(builder.Services, builder.Configuration, fileLog);
        configure?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>Opens the WAL, the database and the audit store read-only (<c>Nv:Wal:ReadOnly</c>, <c>Nv:DbWriter:ReadOnly</c>,
    /// <c>Nv:Audit:ReadOnly</c>): what <c>nv wal stat|dump|verify</c> and <c>nv replay --dry-run</c> use, with no file log.</summary>
    public static void ReadOnlyStores(IServiceCollection services)
    {
        services.Configure<Nv.Wal.WalOptions>(static o => o.ReadOnly = true);
        services.Configure<Nv.DbWriter.DbWriterOptions>(static o => o.ReadOnly = true);
        services.Configure<Nv.Audit.AuditOptions>(static o => o.ReadOnly = true);
    }

    /// <summary>Opens the database and the audit store read-only for a command that holds no WAL lock and may run next to a
    /// live host (<c>nv audit verify|query|history|prove</c>, <c>nv keys stat</c>): the audit store through a plain read-only
    /// connection, the database never immutable (<c>Nv:DbWriter:ReadOnlyBesideHost</c>).</summary>
    public static void ReadOnlyStoresBesideHost(IServiceCollection services)
    {
        services.Configure<Nv.Audit.AuditOptions>(static o => o.ReadOnly = true);
        services.Configure<Nv.DbWriter.DbWriterOptions>(static o =>
        {
            o.ReadOnly = true;
            o.ReadOnlyBesideHost = true;
        });
    }

    private static void Configure(IServiceCollection services, ConfigurationManager configuration, bool fileLog = true)
    {
        services.AddSerilog((sp, lc) =>
        {
            lc.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
                .ReadFrom.Configuration(configuration)
                .ReadFrom.Services(sp)
                .Enrich.FromLogContext()
                // Logs go to stderr so stdout carries only command output (ACK lines, summaries, --json). A start that fails for
                // a reason Nv explains (a locked WAL, a corrupt one, a store ahead of it, a wrong master key) is reported in one
                // line by the command; the generic host's own "Hosting failed to start" event with its stack trace stays in the
                // file log only.
                .WriteTo.Logger(console => console
                    .Filter.ByExcluding(IsExplainedStartFailure)
                    .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: CultureInfo.InvariantCulture));
            if (fileLog)
            {
                var path = Path.Combine(configuration["Nv:DataDirectory"] ?? "data", "logs", "nv-.json");
                lc.WriteTo.File(new CompactJsonFormatter(), path, rollingInterval: RollingInterval.Day);
            }
        });
        // The in-memory mode is chosen when the services are registered (nv serve allows it only with --in-memory).
        services.AddNv(
            configuration.GetSection(NvHostApplicationBuilderExtensions.SectionName),
            configuration.GetValue<bool>(InMemoryKey) ? static o => o.UseInMemory() : null);
    }

    private static bool IsExplainedStartFailure(LogEvent logEvent)
    {
        if (logEvent.Exception is null || !logEvent.Properties.TryGetValue("SourceContext", out var source)
            || source.ToString() != "\"Microsoft.Extensions.Hosting.Internal.Host\"")
        {
            return false;
        }

        for (var ex = logEvent.Exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is NvException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The configuration key of the in-memory mode (<c>Nv:Pipeline:InMemory</c>).</summary>
    public const string InMemoryKey = "Nv:Pipeline:InMemory";
}
