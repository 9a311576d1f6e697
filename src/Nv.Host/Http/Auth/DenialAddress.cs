using System.Net;
using System.Net.Sockets;

namespace Nv.Host.Http.Auth;

/// <summary>The remote address denials are counted under: an IPv4 address as it is (IPv4-mapped IPv6 too), an IPv6
/// address as its /64 (one host usually holds a whole /64, so counting single IPv6 addresses would let it choose a new
/// one per request), <c>unknown</c> when the connection has none (in-process servers).</summary>
/// <remarks>The connection's address, never <c>X-Forwarded-For</c> (which any client can write): behind a reverse proxy
/// every request counts under the proxy's address unless the app runs ASP.NET Core's forwarded-headers middleware
/// before <c>UseNv()</c>, which sets the connection's address from a proxy it trusts.</remarks>
internal static class DenialAddress
{
    public const string Unknown = "unknown";

    public static string Of(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(address))
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes).ToString() + "/64";
    }

    /// <summary>The address as a string for an entry's metadata (the full address, not its /64).</summary>
    public static string Describe(IPAddress? address) =>
        address is null ? Unknown : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
}
