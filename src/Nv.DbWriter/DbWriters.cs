using Microsoft.Extensions.Logging;
using Nv.DbWriter.Sqlite;

namespace Nv.DbWriter;

/// <summary>Creates database writers without dependency injection (tools, tests, the operator CLI).</summary>
public static class DbWriters
{
    /// <summary>Opens (creating if missing) the embedded SQLite store described by <paramref name="options"/>.</summary>
    /// <remarks>The file, its directory and the schema exist when this returns. The writer keeps one connection
    /// open until disposed; one applier owns it (see <see cref="IDbWriter"/>).</remarks>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="DbWriterException">The database could not be opened.</exception>
    public static IDbWriter OpenSqlite(DbWriterOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sqliteOnly = new DbWriterOptions
        {
            DataDirectory = options.DataDirectory,
            SqliteFileName = options.SqliteFileName,
            SqliteBusyTimeout = options.SqliteBusyTimeout,
        };
        var validation = new DbWriterOptionsValidator().Validate(null, sqliteOnly);
        if (validation.Failed)
        {
            throw new ArgumentException("Invalid database writer options: " + validation.FailureMessage, nameof(options));
        }

        var writer = new SqliteDbWriter(sqliteOnly, loggerFactory);
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
