using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Nv.Host.Diagnostics;
using Nv.Host.Hosting;
using Nv.Host.Pipeline;
using Nv.Host.Replay;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the whole Nv write path: WAL, database writer, audit trail, pipeline and boot replay.</summary>
public static class NvServiceCollectionExtensions
{
    /// <summary>Adds Nv: <c>IWritePipeline</c> for in-process writes, reads and audit queries; the WAL, the database writer
    /// (embedded SQLite, or MongoDB when <c>Nv:DbWriter:MongoUri</c> is set) and the audit trail; and the hosted service that
    /// opens them, runs boot replay and then accepts writes.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Applied after the app's configuration (<c>Nv:Pipeline</c>).</param>
    /// <returns>The same service collection.</returns>
    /// <remarks>Options are bound from the app's configuration: <c>Nv:Wal</c>, <c>Nv:DbWriter</c>, <c>Nv:Audit</c>,
    /// <c>Nv:Pipeline</c>. <c>IWritePipeline.IsReady</c> (and the health check added by <c>AddHealthChecks().AddNv()</c>)
    /// stays false until boot replay has finished. Calling it again adds nothing. It also adds <c>IChangeFeed</c> (applied
    /// changes in LSN order). <c>AddNv(o =&gt; o.UseInMemory())</c> keeps the WAL, the entities and the audit trail in
    /// process memory (<see cref="PipelineOptions.InMemory"/>; not durable, for development and tests); the stores are
    /// chosen when the services are registered, so <paramref name="configure"/> is also run once on a scratch instance to
    /// read it.</remarks>
    public static IServiceCollection AddNv(this IServiceCollection services, Action<PipelineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddNvServices(services, configure);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services;
    }

    // Everything AddNv registers but the caller's configure delegate, which each overload applies once, after its own
    // sources (it only reads the delegate here, on a scratch instance, for the in-memory choice).
    private static void AddNvServices(IServiceCollection services, Action<PipelineOptions>? configure)
    {
        var probe = new PipelineOptions();
        configure?.Invoke(probe);
        if (probe.InMemory)
        {
            InMemoryStores.Add(services);
        }

        services.AddNvWal().AddNvDbWriter().AddNvAudit();
        AddHostMetrics(services);
        services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.SectionName).ValidateOnStart();

        // One setting for the idempotency window: the database writer builds its expiry (Mongo's TTL index) from it.
        services.AddOptions<Nv.DbWriter.DbWriterOptions>()
            .Configure<IOptions<PipelineOptions>>(static (db, pipeline) => db.IdempotencyRetention = pipeline.Value.IdempotencyRetention);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineLimitsValidator>());
        services.TryAddSingleton(new InMemoryStores.Selection(probe.InMemory));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, InMemoryModeValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var positions = new PipelinePositions();
            sp.GetService<HostMetrics>()?.Attach(positions);
            return positions;
        });
        AddEncryption(services);
        services.TryAddSingleton<AuditCoordinator>();
        services.TryAddSingleton<WritePipeline>();
        services.TryAddSingleton<IWritePipeline>(sp => sp.GetRequiredService<WritePipeline>());
        services.TryAddSingleton<IAuditEventWriter>(sp => sp.GetRequiredService<WritePipeline>());
        services.TryAddSingleton<BootReplayer>();
        services.TryAddSingleton<Nv.Host.Changes.IChangeFeed, Nv.Host.Changes.ChangeFeed>();
        services.TryAddSingleton(sp => new NvReplay(sp.GetRequiredService<Nv.DbWriter.IDbWriter>(), sp.GetRequiredService<AuditCoordinator>(),
            sp.GetRequiredService<BootReplayer>(), sp.GetRequiredService<Nv.Host.Protection.KeyRing>()));
        services.TryAddSingleton<NvLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<NvLifecycle>());
    }

    /// <summary>Adds Nv configured from <paramref name="configuration"/>: the app's <c>Nv</c> section (e.g.
    /// <c>builder.Configuration.GetSection("Nv")</c>) or any section shaped like it.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The <c>Nv</c> section: <c>DataDirectory</c> (the SQLite files and, under <c>wal/</c>, the WAL;
    /// default <c>data</c>), and the subsections <c>Pipeline</c>, <c>Wal</c>, <c>DbWriter</c>, <c>Audit</c> and <c>Encryption</c>.</param>
    /// <param name="configure">Applied after the configuration.</param>
    /// <returns>The same service collection.</returns>
    /// <remarks>Everything <see cref="AddNv(IServiceCollection, Action{PipelineOptions}?)"/> registers; the options are bound from
    /// the app's configuration (<c>Nv:*</c>) first, then from <paramref name="configuration"/>, then <paramref name="configure"/>.
    /// Options are validated when the host starts: a bad value stops the start with a message naming it.</remarks>
    public static IServiceCollection AddNv(this IServiceCollection services, IConfiguration configuration, Action<PipelineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        AddNvServices(services, configure); // the in-memory choice is read from the delegate when the stores are registered

        // DataDirectory is the one setting most services need: the stores go in it and the WAL under it, unless a
        // subsection names its own directory (bound right after, so it wins).
        services.Configure<Nv.Wal.WalOptions>(o => DataDirectory(configuration, d => o.Directory = Path.Combine(d, "wal")));
        services.Configure<Nv.DbWriter.DbWriterOptions>(o => DataDirectory(configuration, d => o.DataDirectory = d));
        services.Configure<Nv.Audit.AuditOptions>(o => DataDirectory(configuration, d => o.DataDirectory = d));
        services.Configure<Nv.Wal.WalOptions>(configuration.GetSection("Wal"));
        services.Configure<Nv.DbWriter.DbWriterOptions>(configuration.GetSection("DbWriter"));
        services.Configure<Nv.Audit.AuditOptions>(configuration.GetSection("Audit"));
        services.Configure<PipelineOptions>(configuration.GetSection("Pipeline"));
        services.Configure<Nv.Host.Protection.EncryptionOptions>(configuration.GetSection("Encryption"));
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services;
    }

    // Encryption at rest: on when Nv:Encryption:MasterKeyFile is set or an IMasterKeyProvider is registered (a KMS). The
    // key ring is the WAL's and the audit trail's source of data keys; secure_delete follows encryption.
    private static void AddEncryption(IServiceCollection services)
    {
        services.AddOptions<Nv.Host.Protection.EncryptionOptions>().BindConfiguration(Nv.Host.Protection.EncryptionOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Nv.Host.Protection.EncryptionOptions>, Nv.Host.Protection.EncryptionOptionsValidator>());
        services.AddOptions<Nv.DbWriter.DbWriterOptions>().Configure<IOptions<Nv.Host.Protection.EncryptionOptions>, IServiceProvider>(static (db, encryption, sp) =>
            db.SecureDelete |= !string.IsNullOrWhiteSpace(encryption.Value.MasterKeyFile) || sp.GetService<Nv.Wal.Protection.IMasterKeyProvider>() is not null);
        services.TryAddSingleton(sp => new Nv.Host.Protection.KeyRing(
            sp.GetRequiredService<IOptions<Nv.Host.Protection.EncryptionOptions>>(),
            sp.GetRequiredService<Nv.DbWriter.IDbWriter>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<Nv.Host.Protection.KeyRing>>(),
            sp.GetService<Nv.Wal.Protection.IMasterKeyProvider>()));
        services.TryAddSingleton<Nv.Wal.Protection.IDataKeyProvider>(sp => sp.GetRequiredService<Nv.Host.Protection.KeyRing>());
    }

    private static void DataDirectory(IConfiguration configuration, Action<string> apply)
    {
        if (configuration["DataDirectory"] is { Length: > 0 } directory)
        {
            apply(directory);
        }
    }

    // Wraps the registered WAL in MeteredWriteAheadLog (once, however often AddNv is called).
    private static void AddHostMetrics(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(HostMetrics)))
        {
            return;
        }

        services.AddSingleton(sp => new HostMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        var index = -1;
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(Nv.Wal.IWriteAheadLog))
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            return;
        }

        var inner = services[index];
        Func<IServiceProvider, Nv.Wal.IWriteAheadLog> create = inner switch
        {
            { ImplementationFactory: { } factory } => sp => (Nv.Wal.IWriteAheadLog)factory(sp),
            { ImplementationInstance: Nv.Wal.IWriteAheadLog instance } => _ => instance,
            { ImplementationType: { } type } => sp => (Nv.Wal.IWriteAheadLog)ActivatorUtilities.CreateInstance(sp, type),
            _ => throw new InvalidOperationException("Unsupported IWriteAheadLog registration."),
        };
        services[index] = ServiceDescriptor.Singleton<Nv.Wal.IWriteAheadLog>(sp => new MeteredWriteAheadLog(create(sp), sp.GetRequiredService<HostMetrics>()));
    }
}
