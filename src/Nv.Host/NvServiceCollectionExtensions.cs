using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
        var options = services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AuditCoordinator>();
        services.TryAddSingleton<WritePipeline>();
        services.TryAddSingleton<IWritePipeline>(sp => sp.GetRequiredService<WritePipeline>());
        services.TryAddSingleton<BootReplayer>();
        services.TryAddSingleton<NvLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<NvLifecycle>());
        return services;
    }
}
