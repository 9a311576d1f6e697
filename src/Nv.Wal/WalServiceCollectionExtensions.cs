using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Wal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Nv write-ahead log.</summary>
public static class WalServiceCollectionExtensions
{
    /// <summary>Adds <see cref="IWriteAheadLog"/> as a singleton bound to section <see cref="WalOptions.SectionName"/>, validated on start.</summary>
    /// <remarks>The log opens (and recovers) when first resolved; <c>NV_WAL_DIR</c> overrides <see cref="WalOptions.Directory"/>.
    /// When an <see cref="Nv.Wal.Protection.IDataKeyProvider"/> is registered, payloads of records naming a data key are
    /// sealed with it (encryption at rest).</remarks>
    public static IServiceCollection AddNvWal(this IServiceCollection services, Action<WalOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<WalOptions>().BindConfiguration(WalOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.PostConfigure(o =>
        {
            var dir = Environment.GetEnvironmentVariable("NV_WAL_DIR");
            if (!string.IsNullOrWhiteSpace(dir))
            {
                o.Directory = dir;
            }
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WalOptions>, WalOptionsValidator>());
        services.TryAddSingleton<IWriteAheadLog>(sp => new FasterWriteAheadLog(
            sp.GetRequiredService<IOptions<WalOptions>>(),
            sp.GetService<ILogger<FasterWriteAheadLog>>(),
            sp.GetService<Nv.Wal.Protection.IDataKeyProvider>()));
        return services;
    }
}
