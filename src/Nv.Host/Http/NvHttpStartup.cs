using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Host.Configuration;
using Nv.Host.Http.Auth;

namespace Nv.Host.Http;

/// <summary>Checks of the HTTP configuration that can only be made once it is final (keys loaded, URLs known).</summary>
public static class NvHttpStartup
{
    /// <summary>Why the host must not start, or null: options that fail validation (checked here, before any store is
    /// opened), malformed API keys, or authentication off while listening on a non-loopback address.</summary>
    /// <param name="services">The built app's services.</param>
    /// <param name="configuration">The final configuration (<c>urls</c> names the listen addresses).</param>
    public static string? Check(IServiceProvider services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Nv.Host.Http");
        try
        {
            // Before anything opens a store: the host validates options only after it has built its hosted services, and
            // building them opens the WAL, so a refused configuration would otherwise leave a new WAL behind.
            _ = services.GetRequiredService<IOptions<Nv.Wal.WalOptions>>().Value;
            _ = services.GetRequiredService<IOptions<Nv.DbWriter.DbWriterOptions>>().Value;
            _ = services.GetRequiredService<IOptions<Nv.Audit.AuditOptions>>().Value;
            _ = services.GetRequiredService<IOptions<Pipeline.PipelineOptions>>().Value;
            _ = services.GetRequiredService<IOptions<HttpOptions>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            return ex.Message.ReplaceLineEndings(" ");
        }

        ApiKeyStore keys;
        try
        {
            keys = services.GetRequiredService<ApiKeyStore>();
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }

        var urls = configuration["urls"] ?? NvEnvironment.DefaultUrls;
        if (keys.Enabled)
        {
            Log.AuthEnabled(logger, keys.Count);
            return null;
        }

        if (LoopbackGuard.FirstNonLoopback(urls) is { } exposed)
        {
            return $"no API keys are configured (NV_API_KEYS, NV_API_KEYS_FILE), so authentication is off and Nv listens only on loopback; "
                + $"'{exposed}' in NV_URLS is not loopback. Configure API keys or bind to 127.0.0.1.";
        }

        Log.AuthDisabled(logger, urls);
        return null;
    }
}
