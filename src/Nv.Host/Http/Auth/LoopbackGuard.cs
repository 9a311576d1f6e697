using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Nv.Host.Http.Auth;

/// <summary>Without API keys the API is open, so the host may only listen on loopback: what is loopback, read the way
/// Kestrel reads it.</summary>
/// <remarks>Kestrel parses a listen address with <see cref="BindingAddress.Parse"/> and listens on the loopback interfaces
/// for the host <c>localhost</c>, on the address itself for an IP literal, and on every interface for any other host
/// (<c>*</c>, <c>+</c>, a name, or <c>0.0.0.0@127.0.0.1</c>, which <see cref="Uri"/> would read as 127.0.0.1). So only
/// <c>localhost</c>, a loopback IP literal and a Unix socket count as loopback here; anything else, or anything that does
/// not parse, does not.</remarks>
internal static class LoopbackGuard
{
    /// <summary>The first of the <c>;</c>-separated listen addresses that is not loopback, or null when all are.</summary>
    public static string? FirstNonLoopback(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(static url => !IsLoopbackAddress(url));

    /// <summary>The first <c>Kestrel:Endpoints:{name}:Url</c> that is not loopback, as <c>name=url</c>, or null.</summary>
    public static string? FirstNonLoopbackEndpoint(IConfiguration configuration) =>
        configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(static endpoint => (endpoint.Key, Url: endpoint["Url"] ?? ""))
            .Where(static endpoint => !IsLoopbackAddress(endpoint.Url))
            .Select(static endpoint => $"Kestrel:Endpoints:{endpoint.Key}:Url={endpoint.Url}")
            .FirstOrDefault();

    /// <summary>Whether Kestrel, given <paramref name="address"/>, listens on loopback only.</summary>
    public static bool IsLoopbackAddress(string address)
    {
        BindingAddress parsed;
        try
        {
            parsed = BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return false;
        }

        return parsed.IsUnixPipe || IsLoopbackHost(parsed.Host);
    }

    /// <summary>Whether <paramref name="host"/> (no port; IPv6 with or without brackets) is <c>localhost</c> or a loopback
    /// IP literal.</summary>
    public static bool IsLoopbackHost(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return false;
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var literal = host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
        return IPAddress.TryParse(literal, out var ip) && IsLoopback(ip);
    }

    /// <summary>Whether <paramref name="address"/> is a loopback address (IPv4-mapped IPv6 included).</summary>
    public static bool IsLoopback(IPAddress address) => IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
