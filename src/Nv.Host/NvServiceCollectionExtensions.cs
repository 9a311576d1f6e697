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
    /// <summary>Adds Nv: <c>IWritePipeline</c> for in-process writes, boot replay before readiness, and the lifecycle service.</summary>
    public static IServiceCollection AddNv(this IServiceCollection services, Action<PipelineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddNvWal().AddNvDbWriter().AddNvAudit();
        AddHostMetrics(services);
        var options = services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // One setting for the idempotency window: the database writer builds its expiry (Mongo's TTL index) from it.
        services.AddOptions<Nv.DbWriter.DbWriterOptions>()
            .Configure<IOptions<PipelineOptions>>(static (db, pipeline) => db.IdempotencyRetention = pipeline.Value.IdempotencyRetention);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineLimitsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var positions = new PipelinePositions();
            sp.GetService<HostMetrics>()?.Attach(positions);
            return positions;
        });
        services.TryAddSingleton<AuditCoordinator>();
        services.TryAddSingleton<WritePipeline>();
        services.TryAddSingleton<IWritePipeline>(sp => sp.GetRequiredService<WritePipeline>());
        services.TryAddSingleton<IAuditEventWriter>(sp => sp.GetRequiredService<WritePipeline>());
        services.TryAddSingleton<BootReplayer>();
        services.TryAddSingleton(sp => new NvReplay(sp.GetRequiredService<Nv.DbWriter.IDbWriter>(), sp.GetRequiredService<AuditCoordinator>(), sp.GetRequiredService<BootReplayer>()));
        services.TryAddSingleton<NvLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<NvLifecycle>());
        return services;
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
