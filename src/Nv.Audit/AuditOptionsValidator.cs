using Microsoft.Extensions.Options;

namespace Nv.Audit;

/// <summary>Checks <see cref="AuditOptions"/> at startup.</summary>
internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    /// <summary>Largest allowed <see cref="AuditOptions.MaxBatchSize"/>; bigger batches only lengthen the write lock.</summary>
    public const int MaxBatchSizeLimit = 10_000;

    /// <summary>auto, majority, 1-50 members, or a tag name; never 0 (unacknowledged writes are not durable).</summary>
    internal static bool IsValidWriteConcern(string? value) =>
        string.IsNullOrWhiteSpace(value) || value is "auto" or "majority"
        || (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            ? count is >= 1 and <= 50
            : value.Length <= 64 && char.IsAsciiLetter(value[0]) && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'));

    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{nameof(AuditOptions.DataDirectory)} is required.");
        }
        else if (options.DataDirectory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"{nameof(AuditOptions.DataDirectory)} contains characters that are not valid in a path.");
        }

        if (string.IsNullOrWhiteSpace(options.SqliteFileName))
        {
            failures.Add($"{nameof(AuditOptions.SqliteFileName)} is required.");
        }
        else if (options.SqliteFileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
                 || options.SqliteFileName.Contains('/', StringComparison.Ordinal)
                 || options.SqliteFileName.Contains('\\', StringComparison.Ordinal)
                 || options.SqliteFileName is "." or "..")
        {
            failures.Add($"{nameof(AuditOptions.SqliteFileName)} must be a plain file name inside {nameof(AuditOptions.DataDirectory)}.");
        }

        if (options.BusyTimeout < TimeSpan.FromSeconds(1) || options.BusyTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{nameof(AuditOptions.BusyTimeout)} must be between 1 second and 10 minutes (was {options.BusyTimeout}).");
        }

        if (options.MaxBatchSize is < 1 or > MaxBatchSizeLimit)
        {
            failures.Add($"{nameof(AuditOptions.MaxBatchSize)} must be between 1 and {MaxBatchSizeLimit} (was {options.MaxBatchSize}).");
        }

        if (options.BulkIndexThreshold < 0)
        {
            failures.Add($"{nameof(AuditOptions.BulkIndexThreshold)} must not be negative (was {options.BulkIndexThreshold}; 0 turns it off).");
        }

        if (options.CheckpointEveryEntries < 0)
        {
            failures.Add($"{nameof(AuditOptions.CheckpointEveryEntries)} must not be negative (was {options.CheckpointEveryEntries}).");
        }

        if (options.CheckpointInterval < TimeSpan.Zero)
        {
            failures.Add($"{nameof(AuditOptions.CheckpointInterval)} must not be negative (was {options.CheckpointInterval}).");
        }

        if (options.Retention is { } retention && retention <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(AuditOptions.Retention)} must be positive, or unset to keep every entry (was {retention}).");
        }

        if (options.PruneBatchSize is < 1 or > 1_000_000)
        {
            failures.Add($"{nameof(AuditOptions.PruneBatchSize)} must be between 1 and 1000000 (was {options.PruneBatchSize}).");
        }

        if (options.SigningKeyPath is { } keyPath && (keyPath.Length == 0 || keyPath.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            failures.Add($"{nameof(AuditOptions.SigningKeyPath)} is not a valid path.");
        }

        if (options.PreviousPublicKeysPath is { } previousPath && (previousPath.Length == 0 || previousPath.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            failures.Add($"{nameof(AuditOptions.PreviousPublicKeysPath)} is not a valid path.");
        }

        if (options.SignWithHostKeyOnly && options.SignWithHostKeyIfAvailable)
        {
            failures.Add($"{nameof(AuditOptions.SignWithHostKeyOnly)} (refuse to open without the host's key) and "
                + $"{nameof(AuditOptions.SignWithHostKeyIfAvailable)} (open and sign nothing without it) exclude each other.");
        }

        if (!string.IsNullOrWhiteSpace(options.MongoUri))
        {
            if (options.MongoOperationTimeout < TimeSpan.FromSeconds(1) || options.MongoOperationTimeout > TimeSpan.FromMinutes(10))
            {
                failures.Add($"{nameof(AuditOptions.MongoOperationTimeout)} must be between 1 second and 10 minutes (was {options.MongoOperationTimeout}).");
            }

            if (!IsValidWriteConcern(options.MongoWriteConcern))
            {
                failures.Add($"{nameof(AuditOptions.MongoWriteConcern)} must be auto, majority, a number of members (1-50) or a tag name (was '{options.MongoWriteConcern}').");
            }

            // Refused rather than ignored: an operator who set a retention expects entries to go, and a MongoDB trail keeps them all.
            if (options.Retention is { } kept)
            {
                failures.Add($"{AuditOptions.SectionName}:{nameof(AuditOptions.Retention)} is set ({kept}), but the audit trail is in MongoDB "
                    + $"({AuditOptions.SectionName}:{nameof(AuditOptions.MongoUri)}), which keeps every entry: archives and retention work on the SQLite "
                    + "audit store only. Unset it.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
