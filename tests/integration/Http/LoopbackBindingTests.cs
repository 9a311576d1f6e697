using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Nv.Cli.Hosting;
using Nv.Host.Hosting;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Http;

/// <summary>With authentication off Nv serves loopback only, whatever told the server where to listen: the real app on real
/// Kestrel sockets (free ports).</summary>
public sealed class LoopbackBindingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>What Kestrel bound is checked once it started (<c>nv serve</c> runs <c>StartCheckedAsync</c>): a host name
    /// Uri reads as 127.0.0.1, a Kestrel endpoint from configuration, and code all bind every interface, and each run is
    /// stopped with the refusal naming the bound address.</summary>
    [Theory]
    [InlineData("urls")]
    [InlineData("kestrel-endpoint")]
    [InlineData("code")]
    public async Task A_server_listening_beyond_loopback_is_stopped_once_started(string how)
    {
        using var dir = new TempDirectory();
        var port = FreePort();
        var args = new List<string> { "--Nv:DataDirectory=" + dir.Path, "--Serilog:MinimumLevel:Default=Warning" };
        args.Add(how == "urls" ? $"--urls=http://0.0.0.0@127.0.0.1:{port}" : "--urls=http://127.0.0.1:0");
        if (how == "kestrel-endpoint")
        {
            args.Add($"--Kestrel:Endpoints:x:Url=http://0.0.0.0:{port}");
        }

        await using var app = NvWebApp.Build([.. args], b =>
        {
            if (how == "code")
            {
                b.WebHost.ConfigureKestrel(k => k.ListenAnyIP(port));
            }
        });

        var refusal = await NvWebApp.StartCheckedAsync(app, Ct);

        Assert.NotNull(refusal);
        Assert.Contains($":{port}' (set by NV_URLS, Kestrel:Endpoints or the app), which is not loopback", refusal, StringComparison.Ordinal);
        Assert.StartsWith("no API keys are configured", refusal, StringComparison.Ordinal);
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(async () => await probe.ConnectAsync(IPAddress.Loopback, port, Ct)); // stopped
    }

    [Fact]
    public async Task A_loopback_server_passes_the_check_and_keeps_serving()
    {
        using var dir = new TempDirectory();
        await using var app = NvWebApp.Build(["--Nv:DataDirectory=" + dir.Path, "--Serilog:MinimumLevel:Default=Warning", $"--urls=http://localhost:{FreePort()}"]);
        Assert.Null(NvWebApp.CheckStartup(app));
        Assert.Null(await NvWebApp.StartCheckedAsync(app, Ct));
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative), Ct)).StatusCode);
        await app.StopAsync(Ct);
    }

    /// <summary>The configuration Nv can read is refused before anything is opened, as Kestrel would read it.</summary>
    [Theory]
    [InlineData("--urls=http://0.0.0.0@127.0.0.1:5392", "'http://0.0.0.0@127.0.0.1:5392' in NV_URLS is not loopback")]
    [InlineData("--Kestrel:Endpoints:x:Url=http://0.0.0.0:5394", "'Kestrel:Endpoints:x:Url=http://0.0.0.0:5394' is not loopback")]
    public async Task A_configured_address_beyond_loopback_is_refused_before_any_store_is_opened(string setting, string named)
    {
        using var dir = new TempDirectory();
        await using var app = NvWebApp.Build(["--Nv:DataDirectory=" + dir.Path, "--Serilog:MinimumLevel:Default=Warning", setting]);
        var refusal = NvWebApp.CheckStartup(app);
        Assert.NotNull(refusal);
        Assert.Contains(named, refusal, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    /// <summary>The request-level guard: even while a server listens on every interface (an embedding app that never runs
    /// the check, or the moment before it), a connection that arrived on a non-loopback address is 421 and writes nothing.</summary>
    [Fact]
    public async Task A_connection_on_a_non_loopback_address_is_refused_even_with_a_loopback_host_header()
    {
        var external = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (external is null)
        {
            Assert.Skip("this machine has no non-loopback IPv4 address");
        }

        using var dir = new TempDirectory();
        var port = FreePort();
        await using var app = NvWebApp.Build(["--Nv:DataDirectory=" + dir.Path, "--Serilog:MinimumLevel:Default=Warning", "--Nv:Pipeline:Ack=Audited"],
            b => b.WebHost.ConfigureKestrel(k => k.ListenAnyIP(port)));
        await app.StartAsync(Ct);
        await app.Services.GetRequiredService<NvLifecycle>().Replayed.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var wal = app.Services.GetRequiredService<Nv.Wal.IWriteAheadLog>();
        var before = wal.LastLsn;

        using var http = new HttpClient();
        using (var remote = NvTestApp.Request(HttpMethod.Post, $"http://{external}:{port}/v1/entities/Order/remote", """{"a":1}""", NvTestApp.NewRequestId()))
        {
            remote.Headers.Host = "localhost";
            using var response = await http.SendAsync(remote, Ct);
            var problem = await NvTestApp.AssertProblemAsync(response, 421, "host-not-allowed");
            Assert.Contains("only loopback connections", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, wal.LastLsn);
        using (var local = NvTestApp.Request(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/entities/Order/local", """{"a":1}""", NvTestApp.NewRequestId()))
        {
            using var response = await http.SendAsync(local, Ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await app.StopAsync(Ct);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
