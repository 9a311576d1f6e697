using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Nv.Host.Hosting;
using Nv.Host.Pipeline;
using Nv.Host.Replay;

namespace Nv.Integration.Tests.Support;

/// <summary>The real in-process Nv (FasterLog WAL, SQLite store, SQLite audit trail) over a directory, started the way
/// a .NET service embeds it with <c>services.AddNv()</c>.</summary>
internal sealed class NvTestHost : IAsyncDisposable
{
    private readonly IHost _host;

    private NvTestHost(IHost host, ReplaySummary replay, FakeLogCollector logs)
    {
        _host = host;
        BootReplay = replay;
        Logs = logs;
    }

    public IServiceProvider Services => _host.Services;

    public IWritePipeline Pipeline => Services.GetRequiredService<IWritePipeline>();

    public ReplaySummary BootReplay { get; }

    public FakeLogCollector Logs { get; }

    /// <param name="dataDir">The data directory.</param>
    /// <param name="settings">Configuration over the defaults.</param>
    /// <param name="beforeStart">Runs on the built services before the host starts (and boot replay runs): fault injection.</param>
    public static async Task<NvTestHost> StartAsync(string dataDir, IDictionary<string, string?>? settings = null, Action<IServiceProvider>? beforeStart = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Nv:Wal:Directory"] = Path.Combine(dataDir, "wal"),
            ["Nv:DbWriter:DataDirectory"] = dataDir,
            ["Nv:Audit:DataDirectory"] = dataDir,
            ["Nv:Pipeline:Environment"] = "test",
            ["Nv:Pipeline:Service"] = "svc",
            // Audited acks by default: these tests read the audit trail right after a write.
            ["Nv:Pipeline:Ack"] = "Audited",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        var logs = new FakeLogCollector();
        builder.Logging.ClearProviders().AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Information);
        builder.Services.AddNv();
        var host = builder.Build();
        beforeStart?.Invoke(host.Services);
        await host.StartAsync();
        try
        {
            var replay = await host.Services.GetRequiredService<NvLifecycle>().Replayed;
            return new NvTestHost(host, replay, logs);
        }
        catch
        {
            await host.StopAsync();
            ((IDisposable)host).Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        if (_host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }
}
