using Nv.Host.Http.Auth;

namespace Nv.Integration.Tests.Http;

/// <summary>One app per test class with API keys: one key per role, plus one with every role.</summary>
public sealed class KeyedAppFixture : IAsyncLifetime
{
    private NvTestApp? _app;

    public static readonly IReadOnlyDictionary<string, string[]> Roles = new Dictionary<string, string[]>
    {
        ["writer"] = ["writer"],
        ["reader"] = ["reader"],
        ["auditor"] = ["auditor"],
        ["operator"] = ["operator"],
        ["eventer"] = ["audit-writer"],
        ["admin"] = ["writer", "reader", "auditor", "operator"],
    };

    /// <summary>The secret of the key named <paramref name="name"/>.</summary>
    public static string Secret(string name) => "secret-" + name + "-0123456789";

    internal NvTestApp App => _app ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var keys = string.Join(';', Roles.Select(kv => $"{kv.Key}:{string.Join('+', kv.Value)}:{ApiKeyStore.Hash(Secret(kv.Key))}"));
        // Every denial one by one (the tests look each one up): the default limits would count most of AuthTests' 403s.
        _app = await NvTestApp.StartAsync(keys, "--Nv:Http:DenialAuditsPerAddress=10000", "--Nv:Http:DenialAuditsPerWindow=100000");
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
