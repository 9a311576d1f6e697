using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.Audit.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Nv audit trail.</summary>
public static class AuditServiceCollectionExtensions
{
    /// <summary>Adds <see cref="AuditOptions"/> (bound to <see cref="AuditOptions.SectionName"/>, validated on start) and the
    /// <see cref="IAuditSink"/>, unless one is already registered: MongoDB when <see cref="AuditOptions.MongoUri"/> is set,
    /// else the embedded SQLite store; and <see cref="IAuditProofs"/>: Merkle proofs and checkpoints from the embedded store;
    /// from a store without a Merkle tree (MongoDB), chain verification only, and proofs throw
    /// <see cref="AuditProofsUnavailableException"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Optional extra configuration, applied after binding.</param>
    /// <returns>The same service collection.</returns>
    /// <remarks>The sink is a singleton; call <see cref="IAuditSink.InitializeAsync"/> at startup (it also initializes
    /// lazily on first use).</remarks>
    public static IServiceCollection AddNvAudit(this IServiceCollection services, Action<AuditOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>());
        services.TryAddSingleton(sp => new Nv.Audit.Outbox.PendingAuditEntries(sp.GetRequiredService<IOptions<AuditOptions>>().Value.DataDirectory));
        services.TryAddSingleton<IAuditSink>(sp =>
        {
            var value = sp.GetRequiredService<IOptions<AuditOptions>>().Value;
            return string.IsNullOrWhiteSpace(value.MongoUri)
                ? new SqliteAuditSink(value, sp.GetService<ILogger<SqliteAuditSink>>(), sp.GetService<TimeProvider>())
                : new MongoAuditSink(MongoAuditSinks.Copy(value), sp.GetService<ILogger<MongoAuditSink>>());
        });
        // Proofs and checkpoints come from the sink itself (the embedded store implements both); a store without a Merkle
        // tree verifies its chains and refuses proofs with a clear exception (HTTP 501), never a failed resolution (500).
        services.TryAddSingleton<IAuditProofs>(sp => sp.GetRequiredService<IAuditSink>() is var sink && sink is IAuditProofs proofs
            ? proofs
            : new ChainOnlyAuditProofs(sink, sink is MongoAuditSink ? "MongoDB" : sink.GetType().Name));
        services.TryAddSingleton<Nv.Audit.Archive.IAuditRetention>(sp => sp.GetRequiredService<IAuditSink>() as Nv.Audit.Archive.IAuditRetention
            ?? throw new NotSupportedException("The configured audit store does not support archives and retention."));
        return services;
    }
}
