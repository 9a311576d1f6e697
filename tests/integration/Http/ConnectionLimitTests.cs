using System.Net;
using System.Net.Sockets;
using System.Text;
using Nv.Cli.Hosting;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Http;

/// <summary><c>Nv:Http:MaxConcurrentConnections</c> reaches Kestrel: with 2, a third connection is closed unanswered while
/// two are open (real sockets).</summary>
public sealed class ConnectionLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_connection_over_the_limit_is_closed_unanswered()
    {
        using var dir = new TempDirectory();
        await using var app = NvWebApp.Build(["--Nv:DataDirectory=" + dir.Path, "--Serilog:MinimumLevel:Default=Warning",
            "--urls=http://127.0.0.1:0", "--Nv:Http:MaxConcurrentConnections=2"]);
        Assert.Null(await NvWebApp.StartCheckedAsync(app, Ct));
        var port = new Uri(app.Urls.Single()).Port;

        using var one = await ConnectAsync(port);
        using var two = await ConnectAsync(port);
        Assert.StartsWith("HTTP/1.1 200", await AskAsync(one), StringComparison.Ordinal); // kept alive: both hold their slot
        Assert.StartsWith("HTTP/1.1 200", await AskAsync(two), StringComparison.Ordinal);

        using var three = await ConnectAsync(port);
        Assert.Equal("", await AskAsync(three)); // closed without an answer

        one.Dispose();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var four = await ConnectAsync(port);
            if ((await AskAsync(four)).StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            {
                break; // the closed connection's slot is free again
            }

            Assert.True(DateTime.UtcNow < deadline, "no slot freed after a connection closed");
            await Task.Delay(50, Ct);
        }

        await app.StopAsync(Ct);
    }

    private static async Task<TcpClient> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, Ct);
        return client;
    }

    // Sends one keep-alive request and returns the answer's head ("" when the server closed the connection instead).
    private static async Task<string> AskAsync(TcpClient client)
    {
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n"), Ct);
            var buffer = new byte[4096];
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (IOException)
        {
            return ""; // reset
        }
    }
}
