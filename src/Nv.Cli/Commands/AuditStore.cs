using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nv.Audit;
using Nv.Cli.Hosting;
using Nv.Wal.Protection;

namespace Nv.Cli.Commands;

/// <summary>Opens the configured audit store for a CLI command (without opening the WAL).</summary>
internal sealed class AuditStore : IAsyncDisposable
{
    private readonly IHost _host;

    private AuditStore(IHost host, IAuditSink sink, IDataKeyProvider? keys)
    {
        _host = host;
        Sink = sink;
        Keys = keys;
    }

    public IAuditSink Sink { get; }

    /// <summary>Encryption at rest: the data keys when the master key is configured, else null (sealed entries are shown
    /// as ciphertext). Only <see cref="OpenAsync"/> with <c>withKeys</c> opens them.</summary>
    public IDataKeyProvider? Keys { get; }

    /// <summary>A page as the operator may see it: sealed entries opened with their keys, or left sealed without them.</summary>
    public AuditPage Open(AuditPage page) => Keys is null ? page : AuditEntrySealing.OpenWith(page, Keys);

    public static async Task<AuditStore> OpenAsync(CancellationToken cancellationToken, bool withKeys = false)
    {
        var host = NvHostFactory.CreateHost([]);
        try
        {
            ExistingData.RequireAudit(host.Services);
            var sink = host.Services.GetRequiredService<IAuditSink>();
            await sink.InitializeAsync(cancellationToken);
            var keys = withKeys ? await Nv.Host.Protection.EncryptionStartup.OpenKeysAsync(host.Services, cancellationToken) : null;
            return new AuditStore(host, sink, keys);
        }
        catch
        {
            await ((IAsyncDisposable)host).DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await ((IAsyncDisposable)_host).DisposeAsync();
}
