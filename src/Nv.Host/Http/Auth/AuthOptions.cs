namespace Nv.Host.Http.Auth;

/// <summary>API key configuration (section <c>Nv:Auth</c>; <c>NV_API_KEYS_FILE</c> and <c>NV_API_KEYS</c>).</summary>
public sealed class AuthOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:Auth";

    /// <summary>A JSON file: <c>{"keys":[{"name":"billing","roles":["writer","reader"],"sha256":"&lt;hex&gt;"}]}</c>.</summary>
    public string? KeysFile { get; set; }

    /// <summary>Inline keys: <c>name:role1+role2:sha256hex;name2:...</c>.</summary>
    public string? Keys { get; set; }
}
