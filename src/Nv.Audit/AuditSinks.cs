using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit.Sqlite;

namespace Nv.Audit;

/// <summary>Creates audit sinks without dependency injection (CLI tools, tests).</summary>
public static class AuditSinks
{
    /// <summary>Creates an empty audit store in process memory (the in-memory mode): the same hash chain, Merkle tree,
    /// checkpoints and queries as the embedded SQLite store, and <b>nothing is durable</b>.</summary>
    /// <param name="timeProvider">Clock for checkpoint times; the system clock when null.</param>
    /// <returns>A sink, which also implements <see cref="IAuditProofs"/> (checkpoints signed with a key made for this
    /// instance and never stored).</returns>
    public static IAuditSink CreateInMemory(TimeProvider? timeProvider = null) => new InMemory.InMemoryAuditSink(timeProvider);

    /// <summary>Opens the embedded SQLite audit store described by <paramref name="options"/>.</summary>
    /// <param name="options">Validated like the host does; the sink keeps a copy.</param>
    /// <param name="loggerFactory">Where to log; nothing is logged when null.</param>
    /// <returns>A sink, which also implements <see cref="IAuditProofs"/>; call <see cref="IAuditSink.InitializeAsync"/> before use (it also initializes lazily). Dispose it.</returns>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public static IAuditSink OpenSqlite(AuditOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new AuditOptionsValidator().Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(AuditOptions), result.Failures);
        }

        var copy = new AuditOptions
        {
            DataDirectory = options.DataDirectory,
            SqliteFileName = options.SqliteFileName,
            MaxBatchSize = options.MaxBatchSize,
            BusyTimeout = options.BusyTimeout,
            SigningKeyPath = options.SigningKeyPath,
            PreviousPublicKeysPath = options.PreviousPublicKeysPath,
            CheckpointEveryEntries = options.CheckpointEveryEntries,
            CheckpointInterval = options.CheckpointInterval,
            Retention = options.Retention,
            PruneBatchSize = options.PruneBatchSize,
            BulkIndexThreshold = options.BulkIndexThreshold,
            ReadOnly = options.ReadOnly,
            SignWithHostKeyOnly = options.SignWithHostKeyOnly,
            SignWithHostKeyIfAvailable = options.SignWithHostKeyIfAvailable,
        };
        return new SqliteAuditSink(copy, loggerFactory?.CreateLogger<SqliteAuditSink>());
    }
}
