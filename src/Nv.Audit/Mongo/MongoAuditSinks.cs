using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nv.Audit.Mongo;

/// <summary>Creates MongoDB audit sinks without dependency injection (CLI tools, tests).</summary>
public static class MongoAuditSinks
{
    /// <summary>Connects to the MongoDB server named by <see cref="AuditOptions.MongoUri"/> and prepares the
    /// <c>audit_entries</c> collection of <see cref="AuditOptions.MongoDatabase"/> (indexes).</summary>
    /// <remarks>Fails within <see cref="AuditOptions.MongoConnectTimeout"/> when no server answers. The hash chain is the
    /// SQLite sink's (docs/audit-hash-chain.md); inserts use write concern <c>j:true</c>, plus <c>w:majority</c> on a
    /// replica set.</remarks>
    /// <param name="options">Connection string, database, connect timeout and batch size; the sink keeps a copy.</param>
    /// <param name="loggerFactory">Where to log; nothing is logged when null.</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    /// <returns>An initialized sink. Dispose it.</returns>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    /// <exception cref="ArgumentException">The connection string is missing or malformed.</exception>
    /// <exception cref="InvalidOperationException">No server answered within the connect timeout.</exception>
    public static async Task<IAuditSink> OpenAsync(AuditOptions options, ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new AuditOptionsValidator().Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(AuditOptions), result.Failures);
        }

        if (string.IsNullOrWhiteSpace(options.MongoDatabase) || options.MongoConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("MongoDatabase must be set and MongoConnectTimeout positive.", nameof(options));
        }

        var sink = new MongoAuditSink(Copy(options), loggerFactory?.CreateLogger<MongoAuditSink>());
        try
        {
            await sink.InitializeAsync(cancellationToken);
        }
        catch
        {
            await sink.DisposeAsync();
            throw;
        }

        return sink;
    }

    internal static AuditOptions Copy(AuditOptions options) => new()
    {
        DataDirectory = options.DataDirectory,
        SqliteFileName = options.SqliteFileName,
        MaxBatchSize = options.MaxBatchSize,
        BusyTimeout = options.BusyTimeout,
        MongoUri = options.MongoUri,
        MongoDatabase = options.MongoDatabase,
        MongoConnectTimeout = options.MongoConnectTimeout,
        MongoOperationTimeout = options.MongoOperationTimeout,
        MongoWriteConcern = options.MongoWriteConcern,
        SigningKeyPath = options.SigningKeyPath,
        PreviousPublicKeysPath = options.PreviousPublicKeysPath,
        CheckpointEveryEntries = options.CheckpointEveryEntries,
        CheckpointInterval = options.CheckpointInterval,
        ReadOnly = options.ReadOnly,
        SignWithHostKeyOnly = options.SignWithHostKeyOnly,
        SignWithHostKeyIfAvailable = options.SignWithHostKeyIfAvailable,
    };
}
