using Microsoft.Playwright;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Browser;

/// <summary>Headless Chromium from the system (Debian's <c>chromium</c> package) driven by Playwright; no browser is
/// downloaded. When none can be started, <see cref="SkipReason"/> says why and the browser tests skip with it.</summary>
/// <remarks>The executable is <c>NV_TEST_CHROMIUM</c> or <c>/usr/bin/chromium</c>. Each instance runs with a fresh
/// profile directory (a persistent context over a new temp directory, deleted on dispose), so nothing carries over
/// between test classes or runs.</remarks>
internal sealed class Chromium : IAsyncDisposable
{
    public const string DefaultExecutable = "/usr/bin/chromium";

    private static readonly string[] Args =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright? _playwright;
    private readonly TempDirectory? _profile;

    private Chromium(IPlaywright? playwright, TempDirectory? profile, IBrowserContext? context, string? skipReason)
    {
        _playwright = playwright;
        _profile = profile;
        Context = context;
        SkipReason = skipReason;
    }

    /// <summary>The browser's one context (null when it could not start).</summary>
    public IBrowserContext? Context { get; }

    /// <summary>Why no browser could be started, or null.</summary>
    public string? SkipReason { get; }

    public static async Task<Chromium> StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable("NV_TEST_CHROMIUM");
        var executable = string.IsNullOrEmpty(configured) ? DefaultExecutable : configured;
        if (!File.Exists(executable))
        {
            return new Chromium(null, null, null,
                $"No Chromium at {executable}: install Debian's package (apt-get install chromium; .ci/run does) or set NV_TEST_CHROMIUM.");
        }

        IPlaywright? playwright = null;
        var profile = new TempDirectory();
        try
        {
            playwright = await Playwright.CreateAsync();
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile.Path, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Args = Args,
                ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
                Timeout = 60_000,
            });
            return new Chromium(playwright, profile, context, null);
        }
        catch (Exception ex)
        {
            // Whatever keeps the browser from starting (no driver, a browser that exits, a timeout) skips the tests with its message.
            playwright?.Dispose();
            profile.Dispose();
            var detail = string.Join(" | ", ex.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            return new Chromium(null, null, null,
                $"Chromium at {executable} could not be started by Playwright: {(detail.Length > 400 ? detail[..400] + "…" : detail)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Context is not null)
        {
            await Context.CloseAsync();
        }

        _playwright?.Dispose();
        _profile?.Dispose();
    }
}
