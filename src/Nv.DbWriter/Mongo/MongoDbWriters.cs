using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Nv.DbWriter.Mongo;

/// <summary>Creates MongoDB database writers without dependency injection (tools, tests, the operator CLI).</summary>
public static class MongoDbWriters
{
    /// <summary>Connects to the MongoDB server named by <see cref="DbWriterOptions.MongoUri"/> and prepares database
    /// <see cref="DbWriterOptions.MongoDatabase"/> (indexes, watermark).</summary>
    /// <remarks>Fails within <see cref="DbWriterOptions.MongoConnectTimeout"/> when no server answers. Writes use write
    /// concern <c>j:true</c>, plus <c>w:majority</c> on a replica set or through a mongos (see
    /// <see cref="DbWriterOptions.MongoWriteConcern"/>); reads go to the primary; every operation is bounded by
    /// <see cref="DbWriterOptions.MongoOperationTimeout"/>. One applier owns the writer (see <see cref="IDbWriter"/>).</remarks>
    /// <param name="options">The connection string, database and connect timeout.</param>
    /// <param name="loggerFactory">Logging, or none.</param>
    /// <param name="meterFactory">Creates the <c>Nv.DbWriter</c> meter; without one the writer owns a plain meter.</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    /// <exception cref="ArgumentException">The options are invalid (for example a malformed connection string).</exception>
    /// <exception cref="DbWriterException">The server could not be reached or prepared.</exception>
    public static async Task<IDbWriter> OpenAsync(DbWriterOptions options, ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new DbWriterOptionsValidator().Validate(null, options);
        if (validation.Failed || string.IsNullOrWhiteSpace(options.MongoUri))
        {
            throw new ArgumentException(
                "Invalid MongoDB writer options: " + (validation.Failed ? validation.FailureMessage : "MongoUri is empty."), nameof(options));
        }

        var writer = new MongoDbWriter(Copy(options), loggerFactory, meterFactory);
        try
        {
            await writer.InitializeAsync(cancellationToken);
        }
        catch
        {
            await writer.DisposeAsync();
            throw;
        }

        return writer;
    }

    internal static DbWriterOptions Copy(DbWriterOptions options) => new()
    {
        MongoUri = options.MongoUri,
        MongoDatabase = options.MongoDatabase,
        MongoConnectTimeout = options.MongoConnectTimeout,
        MongoOperationTimeout = options.MongoOperationTimeout,
        MongoWriteConcern = options.MongoWriteConcern,
        IdempotencyRetention = options.IdempotencyRetention,
    };
}
