using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nv.Audit;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary>Opens the configured audit store for a CLI command (without opening the WAL).</summary>
internal sealed class AuditStore : IAsyncDisposable
{
    private readonly IHost _host;

    private AuditStore(IHost host, IAuditSink sink)
    {
        _host = host;
        Sink = sink;
    }

    public IAuditSink Sink { get; }

    public static async Task<AuditStore> OpenAsync(CancellationToken cancellationToken)
    {
        var host = NvHostFactory.CreateHost([]);
        var sink = host.Services.GetRequiredService<IAuditSink>();
        await sink.InitializeAsync(cancellationToken);
        return new AuditStore(host, sink);
    }

    public async ValueTask DisposeAsync() => await ((IAsyncDisposable)_host).DisposeAsync();
}
