using Microsoft.Extensions.Options;
using Nv.Host.Pipeline;

namespace Nv.Host.Protection;

/// <summary>Checks <see cref="EncryptionOptions"/> at startup.</summary>
internal sealed class EncryptionOptionsValidator : IValidateOptions<EncryptionOptions>
{
    public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.KeyPoolSize is < 1 or > 100_000)
        {
            failures.Add($"Nv:Encryption:KeyPoolSize ({options.KeyPoolSize}) must be between 1 and 100000.");
        }

        if (options.KeyCacheSize is < 16 or > 10_000_000)
        {
            failures.Add($"Nv:Encryption:KeyCacheSize ({options.KeyCacheSize}) must be between 16 and 10000000.");
        }

        foreach (var (dtoType, rule) in options.Subjects)
        {
            if (!RequestValidator.IsValidDtoType(dtoType) || SubjectResolver.ParseRule(rule) is null)
            {
                failures.Add($"Nv:Encryption:Subjects:{dtoType} = '{rule}' must map a dtoType to '<SubjectType>:<payloadField>' (e.g. 'Customer:customerId').");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
