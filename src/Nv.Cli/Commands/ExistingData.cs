using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Cli.Commands;

/// <summary>The commands that inspect or maintain what is stored read what is there: on a directory holding no Nv data (a
/// mistyped <c>NV_DATA_DIR</c>, say) they stop with one line and exit code 2 instead of creating empty stores and a
/// signing key there and reporting them intact.</summary>
internal static class ExistingData
{
    /// <summary>Throws <see cref="NoDataException"/> when the configured WAL directory is missing or empty.</summary>
    public static void RequireWal(IServiceProvider services)
    {
        var directory = Path.GetFullPath(services.GetRequiredService<IOptions<WalOptions>>().Value.Directory);
        if (!Directory.Exists(directory) || !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new NoDataException($"no WAL at {directory} (NV_DATA_DIR or NV_WAL_DIR names where Nv keeps its data); nothing was created.");
        }
    }

    /// <summary>Throws <see cref="NoDataException"/> when none of the WAL, the database and the audit store holds anything (a
    /// command that rebuilds the stores from the WAL, or reports that they disagree with it, needs at least one).</summary>
    public static void RequireAny(IServiceProvider services)
    {
        var failures = new List<NoDataException>();
        foreach (var check in new Action<IServiceProvider>[] { RequireWal, RequireDatabase, RequireAudit })
        {
            try
            {
                check(services);
                return;
            }
            catch (NoDataException ex)
            {
                failures.Add(ex);
            }
        }

        var directory = Path.GetFullPath(services.GetRequiredService<IOptions<WalOptions>>().Value.Directory);
        throw new NoDataException(
            $"no Nv data: no WAL at {directory}, and no database or audit store beside it (NV_DATA_DIR names where Nv keeps its data); nothing was created.");
    }

    /// <summary>Throws <see cref="NoDataException"/> when the database (and key store) is a SQLite file that does not exist
    /// (a MongoDB database is the server's to report).</summary>
    public static void RequireDatabase(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<DbWriterOptions>>().Value;
        if (!string.IsNullOrWhiteSpace(options.MongoUri))
        {
            return;
        }

        var path = Path.GetFullPath(Path.Combine(options.DataDirectory, options.SqliteFileName));
        if (!File.Exists(path))
        {
            throw new NoDataException($"no database at {path} (NV_DATA_DIR names where Nv keeps its data); nothing was created.");
        }
    }

    /// <summary>Throws <see cref="NoDataException"/> when the audit store is a SQLite file that does not exist (a MongoDB
    /// audit store is the server's to report).</summary>
    public static void RequireAudit(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<AuditOptions>>().Value;
        if (!string.IsNullOrWhiteSpace(options.MongoUri))
        {
            return;
        }

        var path = Path.GetFullPath(Path.Combine(options.DataDirectory, options.SqliteFileName));
        if (!File.Exists(path))
        {
            throw new NoDataException($"no audit store at {path} (NV_DATA_DIR names where Nv keeps its data); nothing was created.");
        }
    }
}
