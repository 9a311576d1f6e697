using Microsoft.Extensions.Options;

namespace Nv.Wal;

/// <summary>Validates <see cref="WalOptions"/> at startup.</summary>
internal sealed class WalOptionsValidator : IValidateOptions<WalOptions>
{
    /// <summary>Checks sizes (page ≤ segment, page &lt; memory, records fit a page), the directory, the mode and intervals.</summary>
    public ValidateOptionsResult Validate(string? name, WalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            failures.Add("Directory is required.");
        }

        if (options.PageSizeBits is < 9 or > 30)
        {
            failures.Add($"PageSizeBits must be between 9 and 30 (was {options.PageSizeBits}).");
        }

        if (options.SegmentSizeBits < options.PageSizeBits || options.SegmentSizeBits > 40)
        {
            failures.Add($"SegmentSizeBits must be at least PageSizeBits ({options.PageSizeBits}) and at most 40 (was {options.SegmentSizeBits}).");
        }

        if (options.MemorySizeBits <= options.PageSizeBits || options.MemorySizeBits > 40)
        {
            failures.Add($"MemorySizeBits must be greater than PageSizeBits ({options.PageSizeBits}) and at most 40 (was {options.MemorySizeBits}).");
        }

        if (options.MaxRecordBytes < 64)
        {
            failures.Add($"MaxRecordBytes must be at least 64 (was {options.MaxRecordBytes}).");
        }
        else if (options.PageSizeBits is >= 9 and <= 30 && options.MaxRecordBytes > (1L << options.PageSizeBits) - 64)
        {
            failures.Add($"MaxRecordBytes ({options.MaxRecordBytes}) must fit a page (2^{options.PageSizeBits} bytes minus 64 bytes of headers).");
        }

        if (!Enum.IsDefined(options.RecoveryMode))
        {
            failures.Add($"RecoveryMode {options.RecoveryMode} is not defined.");
        }

        if (options.WatermarkPersistInterval <= TimeSpan.Zero)
        {
            failures.Add("WatermarkPersistInterval must be positive.");
        }

        if (options.Retention < TimeSpan.Zero)
        {
            failures.Add("Retention cannot be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
