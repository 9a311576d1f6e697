using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Audit.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Nv audit trail.</summary>
public static class AuditServiceCollectionExtensions
{
    /// <summary>Adds <see cref="AuditOptions"/> (bound to <see cref="AuditOptions.SectionName"/>, validated on start) and the
    /// embedded SQLite <see cref="IAuditSink"/> (unless a sink is already registered) and <see cref="IAuditProofs"/>.</summary>
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
        services.TryAddSingleton<IAuditSink>(sp => new SqliteAuditSink(
            sp.GetRequiredService<IOptions<AuditOptions>>().Value,
            sp.GetService<ILogger<SqliteAuditSink>>(),
            sp.GetService<TimeProvider>()));
        // Proofs and checkpoints come from the sink itself (the embedded store implements both).
        services.TryAddSingleton<IAuditProofs>(sp => sp.GetRequiredService<IAuditSink>() as IAuditProofs
            ?? throw new NotSupportedException("The configured audit store does not support Merkle proofs and checkpoints."));
        return services;
    }
}
