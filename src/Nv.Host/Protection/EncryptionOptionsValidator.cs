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
            else if (SubjectResolver.ParseRule(rule) is { } parsed && options.Subjects.ContainsKey(parsed.Type))
            {
                // An erasure of a mapped type is refused (its entities are not subjects of their own), so a subject of a
                // mapped type could never be erased: what is sealed under it would stay readable for ever.
                failures.Add($"Nv:Encryption:Subjects:{dtoType} = '{rule}' names {parsed.Type}, which is mapped itself (Nv:Encryption:Subjects:{parsed.Type}): "
                    + $"no {parsed.Type} can be erased, so nothing sealed under one could be. Map {dtoType} straight to the subject a {dtoType} payload names (e.g. put the customer's id in it).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
