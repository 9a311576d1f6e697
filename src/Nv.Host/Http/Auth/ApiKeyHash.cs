using System.Security.Cryptography;
using System.Text;

namespace Nv.Host.Http.Auth;

/// <summary>The stored form of an API key: Nv keeps only the lowercase hex SHA-256 of each secret.</summary>
public static class ApiKeyHash
{
    /// <summary>The lowercase hex SHA-256 of <paramref name="secret"/>'s UTF-8 bytes, as <c>NV_API_KEYS</c> and the key file expect.</summary>
    public static string Of(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
    }
}
