using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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
    /// opened), malformed API keys, or authentication off while configured to listen on a non-loopback address
    /// (<c>urls</c>, <c>Kestrel:Endpoints</c>, read as Kestrel reads them; <see cref="CheckListening"/> checks what was
    /// bound).</summary>
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
            return NotLoopback($"'{exposed}' in NV_URLS is not loopback");
        }

        if (LoopbackGuard.FirstNonLoopbackEndpoint(configuration) is { } endpoint)
        {
            return NotLoopback($"'{endpoint}' is not loopback");
        }

        Log.AuthDisabled(logger, urls);
        return null;
    }

    /// <summary>Once the server has started: why it must stop, or null. With authentication off, every address the server
    /// actually listens on (<see cref="IServerAddressesFeature"/>, which Kestrel fills with what it bound, whatever
    /// configured it: <c>NV_URLS</c>, <c>Kestrel:Endpoints</c>, code) must be loopback.</summary>
    /// <remarks><see cref="Check"/> refuses the addresses it can read before anything is opened; this is the check that
    /// holds whatever it could not read. An in-process server that reports no addresses passes.</remarks>
    /// <param name="services">The started app's services.</param>
    public static string? CheckListening(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetRequiredService<ApiKeyStore>().Enabled)
        {
            return null;
        }

        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.FirstOrDefault(static a => !LoopbackGuard.IsLoopbackAddress(a)) is { } exposed
            ? NotLoopback($"the server listens on '{exposed}' (set by NV_URLS, Kestrel:Endpoints or the app), which is not loopback")
            : null;
    }

    private static string NotLoopback(string what) =>
        "no API keys are configured (NV_API_KEYS, NV_API_KEYS_FILE), so authentication is off and Nv listens only on loopback; "
        + what + ". Configure API keys or bind to 127.0.0.1.";
}
