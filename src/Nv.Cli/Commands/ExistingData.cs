using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Cli.Commands;

/// <summary>The commands that inspect or maintain what is stored read what is there: on a directory holding no Nv data (a
/// mistyped <c>NV_DATA_DIR</c>, say) they stop with one line and exit code 2 instead of creating empty stores and a
/// signing key there and reporting them intact. A MongoDB store is the server's to report: it counts as present.</summary>
internal static class ExistingData
{
    private const string Hint = "(NV_DATA_DIR names where Nv keeps its data); nothing was created.";

    /// <summary>Throws <see cref="NoDataException"/> when the configured WAL directory is missing or empty.</summary>
    public static void RequireWal(IServiceProvider services)
    {
        if (!HasWal(services, out var directory))
        {
            throw new NoDataException($"no WAL at {directory} (NV_DATA_DIR or NV_WAL_DIR names where Nv keeps its data); nothing was created.");
        }
    }

    /// <summary>Throws <see cref="NoDataException"/> when the database (and key store) is a SQLite file that does not exist.</summary>
    /// <param name="services">The command's host services.</param>
    /// <param name="why">Appended to the message: what the command needed the database for.</param>
    public static void RequireDatabase(IServiceProvider services, string? why = null)
    {
        if (!HasDatabase(services, out var path))
        {
            throw new NoDataException($"no database at {path} {Hint}{why}");
        }
    }

    /// <summary>Throws <see cref="NoDataException"/> when the audit store is a SQLite file that does not exist.</summary>
    /// <param name="services">The command's host services.</param>
    /// <param name="why">Appended to the message: what the command needed the audit store for.</param>
    public static void RequireAudit(IServiceProvider services, string? why = null)
    {
        if (!HasAudit(services, out var path))
        {
            throw new NoDataException($"no audit store at {path} {Hint}{why}");
        }
    }

    /// <summary>Throws <see cref="NoDataException"/> when none of the WAL, the database and the audit store holds anything (a
    /// command that rebuilds the stores from the WAL, or reports that they disagree with it, needs at least one).</summary>
    public static void RequireAny(IServiceProvider services)
    {
        if (!HasWal(services, out var directory) && !HasDatabase(services, out _) && !HasAudit(services, out _))
        {
            throw new NoDataException($"no Nv data: no WAL at {directory}, and no database or audit store beside it {Hint}");
        }
    }

    private static bool HasWal(IServiceProvider services, out string directory)
    {
        directory = Path.GetFullPath(services.GetRequiredService<IOptions<WalOptions>>().Value.Directory);
        return Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any();
    }

    private static bool HasDatabase(IServiceProvider services, out string path)
    {
        var options = services.GetRequiredService<IOptions<DbWriterOptions>>().Value;
        return HasStore(options.MongoUri, options.DataDirectory, options.SqliteFileName, out path);
    }

    private static bool HasAudit(IServiceProvider services, out string path)
    {
        var options = services.GetRequiredService<IOptions<AuditOptions>>().Value;
        return HasStore(options.MongoUri, options.DataDirectory, options.SqliteFileName, out path);
    }

    private static bool HasStore(string? mongoUri, string directory, string sqliteFile, out string path)
    {
        path = Path.GetFullPath(Path.Combine(directory, sqliteFile));
        return !string.IsNullOrWhiteSpace(mongoUri) || File.Exists(path);
    }
}
