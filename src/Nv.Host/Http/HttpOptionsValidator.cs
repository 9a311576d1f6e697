using Microsoft.Extensions.Options;

namespace Nv.Host.Http;

/// <summary>Checks <see cref="HttpOptions"/> at startup.</summary>
/// <remarks>Only the change-feed stream limit so far: the other limits were never validated, and refusing to start on values
/// that started before is a change of its own.</remarks>
internal sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    public const int MaxStreams = 10_000;

    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        if (options.MaxChangeFeedStreams is < 1 or > MaxStreams)
        {
            return ValidateOptionsResult.Fail($"Nv:Http:MaxChangeFeedStreams must be between 1 and {MaxStreams} (default 32).");
        }

        return ValidateOptionsResult.Success;
    }
}
