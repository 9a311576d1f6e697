using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nv.Host.Hosting;
using Nv.Host.Pipeline;
using Nv.Host.Replay;

namespace Nv.Benchmarks.Support;

/// <summary>An in-process Nv (the way a .NET service embeds it: <c>services.AddNv()</c>) over a data directory.</summary>
internal sealed class NvInstance : IAsyncDisposable
{
    private readonly IHost _host;

    private NvInstance(IHost host, ReplaySummary replay)
    {
        _host = host;
        BootReplay = replay;
        Pipeline = host.Services.GetRequiredService<IWritePipeline>();
    }

    public IWritePipeline Pipeline { get; }

    public IServiceProvider Services => _host.Services;

    public ReplaySummary BootReplay { get; }

    public static async Task<NvInstance> StartAsync(string dataDir, Action<IConfigurationBuilder>? configure = null, Action<IServiceCollection>? services = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Nv:Wal:Directory"] = Path.Combine(dataDir, "wal"),
            ["Nv:DbWriter:DataDirectory"] = dataDir,
            ["Nv:Audit:DataDirectory"] = dataDir,
            ["Nv:Pipeline:Environment"] = "bench",
            ["Nv:Pipeline:Service"] = "bench",
        });
        builder.Configuration.AddEnvironmentVariables(); // e.g. Nv__Pipeline__DurablePointInterval=00:00:01 for a sweep
        configure?.Invoke(builder.Configuration);
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        services?.Invoke(builder.Services); // before AddNv, whose registrations only fill what is missing
        builder.Services.AddNv();
        var host = builder.Build();
        await host.StartAsync();
        var replay = await host.Services.GetRequiredService<NvLifecycle>().Replayed;
        return new NvInstance(host, replay);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        if (_host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
    }
}
