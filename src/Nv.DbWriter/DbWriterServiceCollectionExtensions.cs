using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.DbWriter.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Nv database writer.</summary>
public static class DbWriterServiceCollectionExtensions
{
    /// <summary>Registers <see cref="IDbWriter"/> (MongoDB when <see cref="DbWriterOptions.MongoUri"/> is set, else the
    /// embedded SQLite store), its options bound from <see cref="DbWriterOptions.SectionName"/> and validated at startup.</summary>
    /// <remarks>The writer is a singleton; the store is opened (the MongoDB server reached, within
    /// <see cref="DbWriterOptions.MongoConnectTimeout"/>) on first use or by <see cref="IDbWriter.InitializeAsync"/>, which
    /// fails with a one-line <see cref="DbWriterException"/> when it cannot be. A malformed connection string fails option
    /// validation at start.</remarks>
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
            return string.IsNullOrWhiteSpace(value.MongoUri)
                ? new SqliteDbWriter(value, sp.GetService<ILoggerFactory>(), sp.GetService<IMeterFactory>())
                : new MongoDbWriter(MongoDbWriters.Copy(value), sp.GetService<ILoggerFactory>(), sp.GetService<IMeterFactory>());
        });
        return services;
    }
}
