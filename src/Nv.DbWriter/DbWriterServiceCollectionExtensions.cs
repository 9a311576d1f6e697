using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.DbWriter.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Nv database writer.</summary>
public static class DbWriterServiceCollectionExtensions
{
    /// <summary>Registers <see cref="IDbWriter"/> (SQLite when <see cref="DbWriterOptions.MongoUri"/> is empty), its
    /// options bound from <see cref="DbWriterOptions.SectionName"/> and validated at startup.</summary>
    /// <remarks>The writer is a singleton; the file is opened on first use or by <see cref="IDbWriter.InitializeAsync"/>.
    /// A MongoUri currently fails resolution with <see cref="NotSupportedException"/>: the MongoDB writer is not built yet.</remarks>
    public static IServiceCollection AddNvDbWriter(this IServiceCollection services, Action<DbWriterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<DbWriterOptions>().BindConfiguration(DbWriterOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DbWriterOptions>, DbWriterOptionsValidator>());
        services.TryAddSingleton<IDbWriter>(static sp =>
        {
            var value = sp.GetRequiredService<IOptions<DbWriterOptions>>().Value;
            if (!string.IsNullOrWhiteSpace(value.MongoUri))
            {
                throw new NotSupportedException(
                    $"{DbWriterOptions.SectionName}:MongoUri (NV_MONGO_URI) is set, but the MongoDB writer is not implemented yet; " +
                    "unset it to use the embedded SQLite store.");
            }

            return new SqliteDbWriter(value, sp.GetService<ILoggerFactory>(), sp.GetService<IMeterFactory>());
        });
        return services;
    }
}
