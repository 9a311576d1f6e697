using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Host.Hosting;
using Nv.Cli.Hosting;
using Nv.Host.Http;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Http;

/// <summary>The real <c>nv serve</c> web app (NvWebApp.Build) on a TestServer, over real SQLite and a real WAL in a temp directory.</summary>
internal sealed class NvTestApp : IAsyncDisposable
{
    private readonly TempDirectory _dir;

    private NvTestApp(TempDirectory dir, WebApplication app)
    {
        _dir = dir;
        App = app;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }

    /// <summary>The app's data directory (SQLite files, WAL).</summary>
    public string DataDirectory => _dir.Path;

    public HttpClient Client { get; }

    public IWriteAheadLog Wal => App.Services.GetRequiredService<IWriteAheadLog>();

    public IAuditSink Audit => App.Services.GetRequiredService<IAuditSink>();

    /// <param name="apiKeys">NV_API_KEYS-style keys (null: authentication off).</param>
    /// <param name="settings">Extra <c>--key=value</c> settings.</param>
    public static async Task<NvTestApp> StartAsync(string? apiKeys = null, params string[] settings)
    {
        var dir = new TempDirectory();
        // Audited acks by default: these tests read the audit trail right after a write (AckLevelHttpTests covers the others).
        var args = new List<string> { "--Nv:DataDirectory=" + dir.Path, "--Serilog:MinimumLevel:Default=Warning", "--Nv:Pipeline:Ack=Audited" };
        if (apiKeys is not null)
        {
            args.Add("--Nv:Auth:Keys=" + apiKeys);
        }

        args.AddRange(settings);
        var app = NvWebApp.Build([.. args], builder => builder.WebHost.UseTestServer());
        Assert.Null(NvWebApp.CheckStartup(app));
        await app.StartAsync();
        await app.Services.GetRequiredService<NvLifecycle>().Replayed.WaitAsync(TimeSpan.FromSeconds(30));
        return new NvTestApp(dir, app);
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? json = null, string? requestId = null, string? key = null,
        string contentType = "application/json")
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        if (requestId is not null)
        {
            request.Headers.Add("X-Request-Id", requestId);
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null, string? requestId = null, string? key = null) =>
        await Client.SendAsync(Request(method, path, json, requestId, key), TestContext.Current.CancellationToken);

    public Task<HttpResponseMessage> CreateAsync(string dtoType, string id, string json, string? requestId = null, string? key = null) =>
        SendAsync(HttpMethod.Post, $"/v1/entities/{dtoType}/{id}", json, requestId ?? NewRequestId(), key);

    public static string NewRequestId() => "t-" + Guid.NewGuid().ToString("N");

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>Asserts a Problem+json with the given status and type, and returns it.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status, string type)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var problem = document.RootElement.Clone();
        Assert.Equal("https://nv.dev/problems/" + type, problem.GetProperty("type").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        return problem;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        _dir.Dispose();
    }
}
