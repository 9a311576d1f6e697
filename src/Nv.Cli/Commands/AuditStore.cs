using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Cli.Hosting;
using Nv.DbWriter;
using Nv.Host.Protection;
using Nv.Wal.Protection;

namespace Nv.Cli.Commands;

/// <summary>Opens the configured audit store for a CLI command that only reads it (without opening the WAL).</summary>
/// <remarks>Read-only (<see cref="AuditOptions.ReadOnly"/>): no schema write or migration, no signing key generated, no
/// background SQLite or Merkle checkpoints, so a read next to a live host changes no file of its data directory. The data
/// keys (with <c>NV_MASTER_KEY_FILE</c>) are read from the database opened read-only the same way
/// (<see cref="DbWriterOptions.ReadOnlyBesideHost"/>): no schema transaction, migration, checkpointer or request-id filter.</remarks>
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

    /// <summary>Registers the audit store read-only, and the database (the data keys of encryption at rest) read-only beside a
    /// host: for <see cref="NvHostFactory.CreateHost"/> in the commands that only read, which hold no WAL lock and may run
    /// next to a live host.</summary>
    public static void ReadOnly(IServiceCollection services) => NvHostFactory.ReadOnlyStoresBesideHost(services);

    /// <summary>Registers the audit store for a command that writes to it and may sign checkpoints (checkpoint, archive,
    /// prune): only with the host's key, never a key generated here (<see cref="AuditOptions.SignWithHostKeyOnly"/>), so a
    /// shell without the host's NV_AUDIT_SIGNING_KEY is refused (exit 2) instead of signing under a key of its own.</summary>
    public static void HostKeyOnly(IServiceCollection services) => services.Configure<AuditOptions>(static o => o.SignWithHostKeyOnly = true);

    /// <summary>Registers the audit store for a command that runs the pipeline (<c>nv replay</c>, <c>nv erase</c>): it signs
    /// checkpoints only with the host's key, and without it signs none (<see cref="AuditOptions.SignWithHostKeyIfAvailable"/>)
    /// and still runs: a recovery or an erasure is not refused for want of a key only the host needs, and the host's next
    /// checkpoint covers what it appended.</summary>
    public static void HostKeyIfAvailable(IServiceCollection services) =>
        services.Configure<AuditOptions>(static o => o.SignWithHostKeyIfAvailable = true);

    public static async Task<AuditStore> OpenAsync(CancellationToken cancellationToken, bool withKeys = false)
    {
        var host = NvHostFactory.CreateHost([], ReadOnly, fileLog: false); // a read writes nothing, logs to stderr only
        try
        {
            ExistingData.RequireAudit(host.Services);
            if (withKeys && !string.IsNullOrWhiteSpace(host.Services.GetRequiredService<IOptions<EncryptionOptions>>().Value.MasterKeyFile))
            {
                ExistingData.RequireDatabase(host.Services, " (the data keys NV_MASTER_KEY_FILE opens are kept there)");
            }

            var sink = host.Services.GetRequiredService<IAuditSink>();
            await sink.InitializeAsync(cancellationToken);
            var keys = withKeys ? await EncryptionStartup.OpenKeysAsync(host.Services, cancellationToken) : null;
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
