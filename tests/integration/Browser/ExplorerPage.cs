using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Nv.Integration.Tests.Browser;

/// <summary>One browser tab on the audit explorer: navigation, login, what the page logged and requested, screenshots.</summary>
internal sealed class ExplorerPage : IAsyncDisposable
{
    private readonly BrowserHost _host;

    public ExplorerPage(IPage page, BrowserHost host)
    {
        Page = page;
        _host = host;
        page.SetDefaultTimeout(20_000);
        page.Console += (_, message) => Console.Enqueue($"{message.Type}: {message.Text}");
        page.PageError += (_, error) => Console.Enqueue("pageerror: " + error);
        page.Request += (_, request) => Requests.Add(request.Url);
    }

    public IPage Page { get; }

    /// <summary>Console messages and uncaught errors, in order.</summary>
    public ConcurrentQueue<string> Console { get; } = new();

    /// <summary>Every URL the tab requested.</summary>
    public ConcurrentBag<string> Requests { get; } = new();

    public string Url(string hashRoute) => new Uri(_host.Address, "/ui/" + hashRoute).ToString();

    /// <summary>Opens a view by its hash route (e.g. <c>#/entity/Order/o-1</c>), from a fresh document load.</summary>
    public async Task GotoAsync(string hashRoute)
    {
        await Page.GotoAsync(Url(hashRoute));
    }

    /// <summary>Enters the key of <paramref name="name"/> in the key form, the way a person does.</summary>
    public async Task LoginAsync(string name)
    {
        await GotoAsync("#/key");
        await Page.GetByTestId("key-input").FillAsync(BrowserHost.Secret(name));
        await Page.GetByTestId("key-submit").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("who")).ToHaveTextAsync(name);
    }

    /// <summary>Saves a full-page screenshot as screenshots/<paramref name="name"/>.png under the test output directory.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "screenshots", name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.TestOutputHelper?.WriteLine("screenshot: " + path);
        return path;
    }

    public async ValueTask DisposeAsync() => await Page.CloseAsync();
}
