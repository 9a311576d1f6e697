using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Hosting;
using Nv.Cli.Hosting;
using Nv.Host.Http;
using Nv.Host.Http.Auth;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Browser;

/// <summary>The real <c>nv serve</c> web app (NvWebApp.Build) on real Kestrel at a free loopback port, over real SQLite and a
/// real WAL in a temp directory, with one API key per role: what a browser talks to.</summary>
internal sealed class BrowserHost : IAsyncDisposable
{
    public static readonly IReadOnlyDictionary<string, string[]> Keys = new Dictionary<string, string[]>
    {
        ["admin"] = ["writer", "reader", "auditor", "operator"],
        ["auditor"] = ["auditor"],
        ["reader"] = ["reader"],
        ["operator"] = ["operator"],
        ["alice"] = ["writer"],
        ["bob"] = ["writer"],
    };

    private readonly TempDirectory _dir;

    private BrowserHost(TempDirectory dir, WebApplication app, Uri address)
    {
        _dir = dir;
        App = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address };
    }

    public WebApplication App { get; }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri Address { get; }

    public HttpClient Http { get; }

    public string DataDirectory => _dir.Path;

    public static string Secret(string name) => "browser-secret-" + name + "-0123456789";

    /// <summary>Starts a host; <paramref name="settings"/> are more command-line settings (<c>--Key=value</c>).</summary>
    public static async Task<BrowserHost> StartAsync(params string[] settings)
    {
        var dir = new TempDirectory();
        var keys = string.Join(';', Keys.Select(kv => $"{kv.Key}:{string.Join('+', kv.Value)}:{ApiKeyStore.Hash(Secret(kv.Key))}"));
        var app = NvWebApp.Build([
            "--Nv:DataDirectory=" + dir.Path,
            "--Serilog:MinimumLevel:Default=Warning",
            "--Nv:Auth:Keys=" + keys,
            "--urls=http://127.0.0.1:0",
            "--Nv:Pipeline:Ack=Audited", // the pages read the trail right after each write
            .. settings,
        ]);
        Assert.Null(NvWebApp.CheckStartup(app));
        await app.StartAsync();
        await app.Services.GetRequiredService<NvLifecycle>().Replayed.WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Urls.Select(u => new Uri(u)).Single(u => u.Port != 0);
        return new BrowserHost(dir, app, address);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null, string key = "admin",
        IReadOnlyDictionary<string, string>? headers = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        if (method != HttpMethod.Get)
        {
            request.Headers.Add("X-Request-Id", "b-" + Guid.NewGuid().ToString("N"));
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret(key));
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await Http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>Sends a write and asserts it succeeded; returns the answer's JSON.</summary>
    public async Task<JsonElement> WriteAsync(HttpMethod method, string path, string? json = null, IReadOnlyDictionary<string, string>? headers = null,
        string contentType = "application/json", string key = "admin")
    {
        using var response = await SendAsync(method, path, json, key, headers, contentType);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    public async Task<JsonElement> GetJsonAsync(string path, string key = "admin")
    {
        using var response = await SendAsync(HttpMethod.Get, path, key: key);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    /// <summary>The audit entries of an entity, oldest first.</summary>
    public async Task<IReadOnlyList<JsonElement>> HistoryAsync(string dtoType, string entityId)
    {
        var page = await GetJsonAsync($"/v1/audit/entities/{dtoType}/{entityId}/history?limit=1000");
        return [.. page.GetProperty("entries").EnumerateArray().Reverse()];
    }

    /// <summary>The checkpoint signing public key, as Nv writes it next to its data (what an auditor is given).</summary>
    public string PublicKeyPem()
    {
        var path = Path.Combine(DataDirectory, "audit-signing-key.pub.pem");
        return File.ReadAllText(path);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _dir.Dispose();
    }
}
