using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Nv.DbWriter.Sqlite;

namespace Nv.DbWriter;

/// <summary>Creates database writers without dependency injection (tools, tests, the operator CLI).</summary>
public static class DbWriters
{
    /// <summary>Creates an empty store in process memory (the in-memory mode): the same rules as the embedded SQLite store,
    /// and nothing is durable.</summary>
    /// <remarks>For development and unit tests of services that embed Nv; everything is lost when the process ends.</remarks>
    public static IDbWriter CreateInMemory() => new InMemory.InMemoryDbWriter();

    /// <summary>Opens (creating if missing) the embedded SQLite store described by <paramref name="options"/>.</summary>
    /// <remarks>The file, its directory and the schema exist when this returns. The writer keeps one connection
    /// open until disposed; one applier owns it (see <see cref="IDbWriter"/>).</remarks>
    /// <param name="options">Where the database lives; <see cref="DbWriterOptions.MongoUri"/> is ignored here.</param>
    /// <param name="loggerFactory">Logging, or none.</param>
    /// <param name="meterFactory">Creates the <c>Nv.DbWriter</c> meter; without one the writer owns a plain meter.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="DbWriterException">The database could not be opened.</exception>
    public static IDbWriter OpenSqlite(DbWriterOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sqliteOnly = new DbWriterOptions
        {
            DataDirectory = options.DataDirectory,
            SqliteFileName = options.SqliteFileName,
            SqliteBusyTimeout = options.SqliteBusyTimeout,
            SecureDelete = options.SecureDelete,
            RequestIdFilterMinCapacity = options.RequestIdFilterMinCapacity,
        };
        var validation = new DbWriterOptionsValidator().Validate(null, sqliteOnly);
        if (validation.Failed)
        {
            throw new ArgumentException("Invalid database writer options: " + validation.FailureMessage, nameof(options));
        }

        var writer = new SqliteDbWriter(sqliteOnly, loggerFactory, meterFactory);
        try
        {
            writer.Initialize();
        }
        catch
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        return writer;
    }
}
