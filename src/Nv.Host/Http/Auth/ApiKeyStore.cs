using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Nv.Host.Http.Auth;

/// <summary>The configured API keys, looked up by the SHA-256 of the presented secret (secrets are never stored).</summary>
/// <remarks>With no key configured, authentication is off: every caller gets every role and the host only listens on
/// loopback (see <see cref="LoopbackGuard"/>). A malformed key file or entry refuses the start with a message naming it.</remarks>
internal sealed class ApiKeyStore
{
    private readonly Dictionary<string, ApiKey> _byHash;

    public ApiKeyStore(IOptions<AuthOptions> options)
        : this(Load(options.Value))
    {
    }

    public ApiKeyStore(IEnumerable<ApiKey> keys)
    {
        _byHash = new Dictionary<string, ApiKey>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!_byHash.TryAdd(key.Sha256Hex, key))
            {
                throw new InvalidOperationException($"API key '{key.Name}' has the same secret hash as '{_byHash[key.Sha256Hex].Name}'.");
            }
        }
    }

    /// <summary>Whether any key is configured (authentication on).</summary>
    public bool Enabled => _byHash.Count > 0;

    /// <summary>How many keys are configured.</summary>
    public int Count => _byHash.Count;

    /// <summary>The key whose secret is <paramref name="secret"/>, or null.</summary>
    public ApiKey? Find(string secret) => _byHash.GetValueOrDefault(Hash(secret));

    /// <summary>Lowercase hex SHA-256 of the UTF-8 secret: what the key file stores (<c>nv keys hash</c> prints it).</summary>
    public static string Hash(string secret) => ApiKeyHash.Of(secret);

    public static IReadOnlyList<ApiKey> Load(AuthOptions options)
    {
        var keys = new List<ApiKey>();
        if (!string.IsNullOrWhiteSpace(options.KeysFile))
        {
            keys.AddRange(ParseFile(options.KeysFile));
        }

        if (!string.IsNullOrWhiteSpace(options.Keys))
        {
            keys.AddRange(ParseInline(options.Keys));
        }

        return keys;
    }

    /// <summary>Parses <c>name:role1+role2:sha256hex;...</c>.</summary>
    public static IReadOnlyList<ApiKey> ParseInline(string text)
    {
        var keys = new List<ApiKey>();
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = entry.Split(':');
            if (parts.Length != 3)
            {
                throw new InvalidOperationException($"NV_API_KEYS entry '{Redact(entry)}' must be name:role1+role2:sha256hex.");
            }

            keys.Add(Create(parts[0], parts[1].Split('+', StringSplitOptions.RemoveEmptyEntries), parts[2], "NV_API_KEYS"));
        }

        return keys;
    }

    private static List<ApiKey> ParseFile(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var keys = new List<ApiKey>();
            if (!document.RootElement.TryGetProperty("keys", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidOperationException($"API key file '{path}' must hold {{\"keys\": [...]}}.");
            }

            foreach (var item in array.EnumerateArray())
            {
                var name = item.TryGetProperty("name", out var n) ? n.GetString() : null;
                var hash = item.TryGetProperty("sha256", out var h) ? h.GetString() : null;
                var roles = item.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array
                    ? r.EnumerateArray().Select(x => x.GetString() ?? "").ToArray()
                    : [];
                keys.Add(Create(name ?? "", roles, hash ?? "", path));
            }

            return keys;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new InvalidOperationException($"Cannot load API keys from '{path}': {ex.Message}", ex);
        }
    }

    private static ApiKey Create(string name, IEnumerable<string> roles, string hash, string source)
    {
        if (name.Length == 0 || name.Length > 128 || name.Any(c => c <= ' ' || c > '~'))
        {
            throw new InvalidOperationException($"{source}: key name '{name}' must be 1-128 printable ASCII characters without spaces.");
        }

        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var role in roles)
        {
            var normalized = role.Trim().ToLowerInvariant();
            if (!NvRoles.All.Contains(normalized))
            {
                throw new InvalidOperationException($"{source}: key '{name}' has unknown role '{role}' (known: writer, reader, auditor, operator).");
            }

            set.Add(normalized);
        }

        var normalizedHash = hash.Trim().ToLowerInvariant();
        if (normalizedHash.Length != 64 || !normalizedHash.All(char.IsAsciiHexDigit))
        {
            throw new InvalidOperationException($"{source}: key '{name}' needs a 64-character hex SHA-256 (use 'nv keys hash <key>').");
        }

        return new ApiKey(name, set, normalizedHash);
    }

    private static string Redact(string entry) => entry.Length > 24 ? entry[..24] + "..." : entry;
}
