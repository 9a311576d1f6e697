using Microsoft.Extensions.Options;

namespace Nv.DbWriter;

/// <summary>Checks <see cref="DbWriterOptions"/> at startup.</summary>
internal sealed class DbWriterOptionsValidator : IValidateOptions<DbWriterOptions>
{
    private static readonly TimeSpan MaxBusyTimeout = TimeSpan.FromMinutes(10);

    public ValidateOptionsResult Validate(string? name, DbWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.MongoUri))
        {
            if (string.IsNullOrWhiteSpace(options.DataDirectory))
            {
                failures.Add($"{nameof(DbWriterOptions.DataDirectory)} must be set when no MongoUri is configured.");
            }

            if (string.IsNullOrWhiteSpace(options.SqliteFileName))
            {
                failures.Add($"{nameof(DbWriterOptions.SqliteFileName)} must be set when no MongoUri is configured.");
            }
            else if (options.SqliteFileName.IndexOfAny(['/', '\\', '\0']) >= 0 || options.SqliteFileName is "." or "..")
            {
                failures.Add($"{nameof(DbWriterOptions.SqliteFileName)} must be a plain file name, not a path: '{options.SqliteFileName}'.");
            }

            if (options.SqliteBusyTimeout <= TimeSpan.Zero || options.SqliteBusyTimeout > MaxBusyTimeout)
            {
                failures.Add($"{nameof(DbWriterOptions.SqliteBusyTimeout)} must be in (0, {MaxBusyTimeout}]; it is {options.SqliteBusyTimeout}.");
            }
        }
        else
        {
            // The driver's parser, not System.Uri: a replica set URI lists several hosts ("mongodb://a:27017,b:27017/").
            try
            {
                _ = MongoDB.Driver.MongoUrl.Create(options.MongoUri);
            }
            catch (Exception ex) when (ex is MongoDB.Driver.MongoConfigurationException or FormatException or ArgumentException)
            {
                failures.Add($"{nameof(DbWriterOptions.MongoUri)} must be a mongodb:// or mongodb+srv:// connection string " +
                    $"({Nv.DbWriter.Mongo.MongoConnection.Redact(Nv.DbWriter.Mongo.MongoConnection.FirstLine(ex.Message), options.MongoUri)}).");
            }

            if (string.IsNullOrWhiteSpace(options.MongoDatabase))
            {
                failures.Add($"{nameof(DbWriterOptions.MongoDatabase)} must be set when a MongoUri is configured.");
            }

            if (options.MongoConnectTimeout <= TimeSpan.Zero)
            {
                failures.Add($"{nameof(DbWriterOptions.MongoConnectTimeout)} must be positive; it is {options.MongoConnectTimeout}.");
            }

            if (options.MongoOperationTimeout < TimeSpan.FromSeconds(1) || options.MongoOperationTimeout > TimeSpan.FromMinutes(10))
            {
                failures.Add($"{nameof(DbWriterOptions.MongoOperationTimeout)} must be between 1 second and 10 minutes; it is {options.MongoOperationTimeout}.");
            }

            if (!Nv.DbWriter.Mongo.MongoCommands.IsValidWriteConcern(options.MongoWriteConcern))
            {
                failures.Add($"{nameof(DbWriterOptions.MongoWriteConcern)} must be auto, majority, a number of members (1-50) or a tag name; it is '{options.MongoWriteConcern}'.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
