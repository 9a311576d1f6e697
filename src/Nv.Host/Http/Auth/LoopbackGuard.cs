using System.Net;

namespace Nv.Host.Http.Auth;

/// <summary>Without API keys the API is open, so the host may only listen on loopback: a non-loopback <c>NV_URLS</c> refuses the start.</summary>
internal static class LoopbackGuard
{
    /// <summary>The first listen address that is not loopback, or null when all are.</summary>
    public static string? FirstNonLoopback(string urls)
    {
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!IsLoopback(url))
            {
                return url;
            }
        }

        return null;
    }

    private static bool IsLoopback(string url)
    {
        // Kestrel's wildcards (http://*:80, http://+:80) are not valid Uri hosts; treat them as "all interfaces".
        if (!Uri.TryCreate(url.Replace("://*", "://wildcard.invalid", StringComparison.Ordinal).Replace("://+", "://wildcard.invalid", StringComparison.Ordinal),
                UriKind.Absolute, out var uri))
        {
            return false;
        }

        if (uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }
}
