using Microsoft.Playwright;

namespace Nv.Integration.Tests.Browser;

/// <summary>One Nv host on real Kestrel and one headless Chromium per test class.</summary>
public sealed class AuditExplorerFixture : IAsyncLifetime
{
    private Chromium? _chromium;
    private BrowserHost? _host;

    /// <summary>The shared host; skips the calling test, with the reason, when no browser could be started (the host is then
    /// not started either: a test that seeds it before opening a page would otherwise fail instead of skipping).</summary>
    internal BrowserHost Host
    {
        get
        {
            Assert.SkipWhen(_chromium?.SkipReason is not null, _chromium?.SkipReason ?? "");
            return _host ?? throw new InvalidOperationException("not started");
        }
    }

    /// <summary>Skips the calling test when no browser could be started, with the reason.</summary>
    internal IBrowserContext Browser
    {
        get
        {
            Assert.SkipWhen(_chromium?.SkipReason is not null, _chromium?.SkipReason ?? "");
            return _chromium?.Context ?? throw new InvalidOperationException("not started");
        }
    }

    public async ValueTask InitializeAsync()
    {
        _chromium = await Chromium.StartAsync();
        if (_chromium.SkipReason is null)
        {
            _host = await BrowserHost.StartAsync();
        }
    }

    /// <summary>A new tab (its own sessionStorage, so no key yet) on the explorer of <paramref name="host"/> (default: the shared one).</summary>
    internal async Task<ExplorerPage> OpenAsync(string? key = "admin", BrowserHost? host = null)
    {
        var page = await Browser.NewPageAsync();
        var explorer = new ExplorerPage(page, host ?? Host);
        if (key is not null)
        {
            await explorer.LoginAsync(key);
        }

        return explorer;
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }
    }
}
