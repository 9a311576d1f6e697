using Microsoft.Extensions.Options;

namespace Nv.Host.Http;

/// <summary>Checks <see cref="HttpOptions"/> at startup.</summary>
/// <remarks>The change-feed stream, connection, audit read and denial-audit limits, each refusal naming its setting (all
/// of them at once): the older limits were never validated, and refusing to start on values that started before is a
/// change of its own.</remarks>
internal sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    public const int MaxStreams = 10_000;
    public const long MinAuditPageBytes = 64 * 1024;
    public const long MaxAuditPageBytes = 256L * 1024 * 1024;
    public const int MaxAuditQueries = 1000;
    public const int MaxAuditVerifications = 64;

    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        var failures = new List<string>();
        if (options.MaxChangeFeedStreams is < 1 or > MaxStreams)
        {
            failures.Add($"Nv:Http:MaxChangeFeedStreams must be between 1 and {MaxStreams} (default 32).");
        }

        if (options.MaxAuditPageBytes is < MinAuditPageBytes or > MaxAuditPageBytes)
        {
            failures.Add("Nv:Http:MaxAuditPageBytes must be between 65536 (64 KiB) and 268435456 (256 MiB) (default 4194304).");
        }

        if (options.MaxConcurrentAuditQueries is < 1 or > MaxAuditQueries)
        {
            failures.Add($"Nv:Http:MaxConcurrentAuditQueries must be between 1 and {MaxAuditQueries} (default 8).");
        }

        if (options.MaxConcurrentAuditVerifications is < 1 or > MaxAuditVerifications)
        {
            failures.Add($"Nv:Http:MaxConcurrentAuditVerifications must be between 1 and {MaxAuditVerifications} (default 1).");
        }

        if (options.MaxChangeFeedStreamsPerKey is < 1 or > MaxStreams)
        {
            failures.Add($"Nv:Http:MaxChangeFeedStreamsPerKey must be between 1 and {MaxStreams} (default 8).");
        }

        if (options.MaxConcurrentConnections is < 1 or > 1_000_000)
        {
            failures.Add("Nv:Http:MaxConcurrentConnections must be between 1 and 1000000 (default 1000).");
        }

        if (options.DenialAuditWindow < TimeSpan.FromSeconds(1) || options.DenialAuditWindow > TimeSpan.FromHours(1))
        {
            failures.Add("Nv:Http:DenialAuditWindow must be between 00:00:01 and 01:00:00 (default 00:01:00).");
        }

        if (options.DenialAuditsPerAddress is < 0 or > 10_000)
        {
            failures.Add("Nv:Http:DenialAuditsPerAddress must be between 0 and 10000 (default 10).");
        }

        if (options.DenialAuditsPerWindow is < 0 or > 100_000)
        {
            failures.Add("Nv:Http:DenialAuditsPerWindow must be between 0 and 100000 (default 100).");
        }

        if (options.DenialAuditAddresses is < 1 or > 100_000)
        {
            failures.Add("Nv:Http:DenialAuditAddresses must be between 1 and 100000 (default 1000).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
