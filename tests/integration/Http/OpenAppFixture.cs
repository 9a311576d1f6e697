namespace Nv.Integration.Tests.Http;

/// <summary>One app per test class with authentication off (loopback, X-User-Id names the user).</summary>
public sealed class OpenAppFixture : IAsyncLifetime
{
    private NvTestApp? _app;

    internal NvTestApp App => _app ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _app = await NvTestApp.StartAsync(null, "--Nv:Http:MaxRequestBodyBytes=65536", "--Nv:Pipeline:MaxPayloadBytes=32768");

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
