using Microsoft.Extensions.Options;

namespace Nv.Host.Http;

/// <summary>Checks <see cref="HttpOptions"/> at startup.</summary>
/// <remarks>The change-feed stream limit and the audit read limits: the older limits were never validated, and refusing
/// to start on values that started before is a change of its own.</remarks>
internal sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    public const int MaxStreams = 10_000;
    public const long MinAuditPageBytes = 64 * 1024;
    public const long MaxAuditPageBytes = 256L * 1024 * 1024;
    public const int MaxAuditQueries = 1000;
    public const int MaxAuditVerifications = 64;

    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        if (options.MaxChangeFeedStreams is < 1 or > MaxStreams)
        {
            return ValidateOptionsResult.Fail($"Nv:Http:MaxChangeFeedStreams must be between 1 and {MaxStreams} (default 32).");
        }

        if (options.MaxAuditPageBytes is < MinAuditPageBytes or > MaxAuditPageBytes)
        {
            return ValidateOptionsResult.Fail("Nv:Http:MaxAuditPageBytes must be between 65536 (64 KiB) and 268435456 (256 MiB) (default 4194304).");
        }

        if (options.MaxConcurrentAuditQueries is < 1 or > MaxAuditQueries)
        {
            return ValidateOptionsResult.Fail($"Nv:Http:MaxConcurrentAuditQueries must be between 1 and {MaxAuditQueries} (default 8).");
        }

        if (options.MaxConcurrentAuditVerifications is < 1 or > MaxAuditVerifications)
        {
            return ValidateOptionsResult.Fail($"Nv:Http:MaxConcurrentAuditVerifications must be between 1 and {MaxAuditVerifications} (default 1).");
        }

        return ValidateOptionsResult.Success;
    }
}
