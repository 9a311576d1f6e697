using Nv.Host.Http.Auth;

namespace Nv.Unit.Tests.Http;

public sealed class ApiKeyStoreTests
{
    private static readonly string HashOfSecret = ApiKeyStore.Hash("secret");

    [Fact]
    public void Hash_is_lowercase_hex_sha256_of_the_utf8_key()
    {
        Assert.Equal("2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", ApiKeyStore.Hash("secret"));
    }

    [Fact]
    public void Inline_keys_parse_names_roles_and_hashes()
    {
        var keys = ApiKeyStore.ParseInline($"billing:writer+reader:{HashOfSecret}; ops:operator:{HashOfSecret.ToUpperInvariant()[..63]}0");
        Assert.Equal(2, keys.Count);
        Assert.Equal("billing", keys[0].Name);
        Assert.True(keys[0].Roles.SetEquals(["writer", "reader"]));
        Assert.Equal(HashOfSecret, keys[0].Sha256Hex);
    }

    [Theory]
    [InlineData("billing:writer")]
    [InlineData("billing:root:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b")]
    [InlineData("billing:writer:abc")]
    [InlineData(":writer:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b")]
    public void Malformed_inline_keys_refuse_with_a_message(string text)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ApiKeyStore.ParseInline(text));
        Assert.False(string.IsNullOrEmpty(ex.Message));
    }

    [Fact]
    public void A_key_file_is_loaded_and_keys_are_found_by_secret()
    {
        var path = Path.Combine(Path.GetTempPath(), "nv-keys-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, $$"""{"keys":[{"name":"auditor1","roles":["auditor"],"sha256":"{{HashOfSecret}}"}]}""");
        try
        {
            var store = new ApiKeyStore(ApiKeyStore.Load(new AuthOptions { KeysFile = path }));
            Assert.True(store.Enabled);
            Assert.Equal("auditor1", store.Find("secret")?.Name);
            Assert.Null(store.Find("wrong"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_missing_key_file_refuses_naming_it()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ApiKeyStore.Load(new AuthOptions { KeysFile = "/nonexistent/keys.json" }));
        Assert.Contains("/nonexistent/keys.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_keys_means_authentication_is_off()
    {
        Assert.False(new ApiKeyStore(ApiKeyStore.Load(new AuthOptions())).Enabled);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", null)]
    [InlineData("http://localhost:5080;http://[::1]:5081", null)]
    [InlineData("http://0.0.0.0:5080", "http://0.0.0.0:5080")]
    [InlineData("http://127.0.0.1:1;http://*:5080", "http://*:5080")]
    [InlineData("http://+:5080", "http://+:5080")]
    [InlineData("http://10.1.2.3:5080", "http://10.1.2.3:5080")]
    // Kestrel's reading, not Uri's: Uri sees host 127.0.0.1 (user info 0.0.0.0), Kestrel a host name, so every interface.
    [InlineData("http://0.0.0.0@127.0.0.1:5392", "http://0.0.0.0@127.0.0.1:5392")]
    [InlineData("http://user@localhost:5392", "http://user@localhost:5392")]
    [InlineData("http://example.com:5080", "http://example.com:5080")]
    [InlineData("http://LOCALHOST:5080;http://127.0.0.2:5081;http://[::1]:0", null)]
    [InlineData("http://unix:/tmp/nv.sock", null)]
    [InlineData("not a url", "not a url")]
    public void Loopback_guard_names_the_first_exposed_address(string urls, string? exposed)
    {
        Assert.Equal(exposed, LoopbackGuard.FirstNonLoopback(urls));
    }
}
