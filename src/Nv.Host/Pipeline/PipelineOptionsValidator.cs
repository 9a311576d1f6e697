using Microsoft.Extensions.Options;

namespace Nv.Host.Pipeline;

/// <summary>Checks <see cref="PipelineOptions"/> at startup.</summary>
internal sealed class PipelineOptionsValidator : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Environment) || options.Environment.Contains(':', StringComparison.Ordinal))
        {
            errors.Add("Nv:Pipeline:Environment (NV_ENV) must be non-empty and contain no ':'.");
        }

        if (!RequestValidator.IsValidDtoType(options.Service.Replace('-', '_')))
        {
            errors.Add("Nv:Pipeline:Service (NV_SERVICE) must start with a letter and contain only letters, digits, '-' and '_'.");
        }

        if (options.MaxPayloadBytes is < 16 or > 16 * 1024 * 1024)
        {
            errors.Add("Nv:Pipeline:MaxPayloadBytes must be between 16 and 16 MiB.");
        }

        if (options.MaxPayloadDepth is < 1 or > 256)
        {
            errors.Add("Nv:Pipeline:MaxPayloadDepth must be between 1 and 256.");
        }

        if (options.MaxBatchSize is < 1 or > 65536)
        {
            errors.Add("Nv:Pipeline:MaxBatchSize must be between 1 and 65536.");
        }

        if (options.MaxBatchItems is < 1 or > 65536)
        {
            errors.Add("Nv:Pipeline:MaxBatchItems must be between 1 and 65536.");
        }

        if (options.MaxBatchBytes is < 1024 or > 64 * 1024 * 1024)
        {
            errors.Add("Nv:Pipeline:MaxBatchBytes must be between 1 KiB and 64 MiB.");
        }

        if (options.ReplayBatchSize is < 1 or > 65536)
        {
            errors.Add("Nv:Pipeline:ReplayBatchSize must be between 1 and 65536.");
        }

        if (options.RequestIdCacheSize < 1)
        {
            errors.Add("Nv:Pipeline:RequestIdCacheSize must be positive.");
        }

        if (options.IdempotencyRetention < TimeSpan.FromSeconds(1))
        {
            errors.Add("Nv:Pipeline:IdempotencyRetention must be at least 1 second (default 24 hours).");
        }

        if (options.RequestInProgressWait <= TimeSpan.Zero)
        {
            errors.Add("Nv:Pipeline:RequestInProgressWait must be positive.");
        }

        if (options.InitialRetryDelay <= TimeSpan.Zero || options.MaxRetryDelay < options.InitialRetryDelay)
        {
            errors.Add("Nv:Pipeline retry delays must be positive with MaxRetryDelay >= InitialRetryDelay.");
        }

        if (options.MaintenanceInterval <= TimeSpan.Zero)
        {
            errors.Add("Nv:Pipeline:MaintenanceInterval must be positive.");
        }

        if (options.AuditBackfillInterval <= TimeSpan.Zero)
        {
            errors.Add("Nv:Pipeline:AuditBackfillInterval must be positive.");
        }

        if (options.MaxLagRecords < 1 || options.MaxLagTime <= TimeSpan.Zero)
        {
            errors.Add("Nv:Pipeline:MaxLagRecords and MaxLagTime must be positive.");
        }

        if (options.MaxAuditBatchSize is < 1 or > 65536)
        {
            errors.Add("Nv:Pipeline:MaxAuditBatchSize must be between 1 and 65536.");
        }

        if (options.AuditGatherRecords < 1)
        {
            errors.Add("Nv:Pipeline:AuditGatherRecords must be at least 1.");
        }

        if (options.AuditGatherTime < TimeSpan.Zero || options.AuditGatherTime > TimeSpan.FromSeconds(1))
        {
            errors.Add("Nv:Pipeline:AuditGatherTime must be between 0 and 1 second.");
        }

        if (options.DurablePointInterval <= TimeSpan.Zero || options.DurablePointInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add("Nv:Pipeline:DurablePointInterval must be positive and at most 1 minute.");
        }

        if (options.MaxWalBytes < 0)
        {
            errors.Add("Nv:Pipeline:MaxWalBytes must be 0 (no limit) or positive.");
        }

        if (options.ChangeFeedPageBytes is < 64 * 1024 or > 256 * 1024 * 1024)
        {
            errors.Add("Nv:Pipeline:ChangeFeedPageBytes must be between 64 KiB and 256 MiB (default 4 MiB).");
        }

        if (!Enum.IsDefined(options.Ack))
        {
            errors.Add("Nv:Pipeline:Ack must be Durable, Applied or Audited.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
