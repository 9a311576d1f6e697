using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Nv.Benchmarks.Support;
using Nv.Host.Pipeline;

namespace Nv.Benchmarks.Pipeline;

/// <summary>A running <c>nv serve</c> (the real executable, its own process) under N concurrent HTTP connections, each
/// posting 1 KiB creates back to back; printed beside the in-process pipeline at the same ack level and caller count.</summary>
/// <remarks>Run: <c>./build.sh bench http [--connections 64] [--seconds 10] [--ack applied]</c>. The client is this
/// benchmark (HttpClient over SocketsHttpHandler, one connection per caller, keep-alive), on the same 2-core machine as
/// the server, so the figure includes the client's own CPU; the in-process row shows what HTTP costs.</remarks>
internal static class HttpScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var connections = Args.Int(args, "--connections", 64);
        var seconds = Args.Int(args, "--seconds", 10);
        var ackIndex = Array.IndexOf(args, "--ack");
        var ack = ackIndex >= 0 && ackIndex + 1 < args.Length ? Enum.Parse<AckLevel>(args[ackIndex + 1], ignoreCase: true) : AckLevel.Applied;
        var level = ack.ToString().ToLowerInvariant();
        var kind = BenchPayload.Kind(args);
        var body = BenchPayload.CreateText(kind, 1000);

        using var dir = new BenchDirectory("http");
        var port = FreePort();
        using var server = StartServer(dir.Path, port);
        try
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
            using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitReadyAsync(client, server);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"http: nv serve (pid {server.Id}), {connections} connections, 1 KiB {kind} creates, Prefer: nv-ack={level}, {seconds} s"));
            await LoadAsync(client, Math.Min(connections, 16), 2, body, level, "warm"); // JIT, tiering, connection setup
            var http = await LoadAsync(client, connections, seconds, body, level, "run");
            var inProcess = await PipelineScenario.MeasureNvAsync(connections, seconds,
                BenchPayload.Create(kind, 1000), ack: ack);

            Console.WriteLine("                          |   writes/s   p50 ms   p99 ms");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"nv serve over HTTP        | {http.PerSecond,10:F0} {http.P50Ms,8:F2} {http.P99Ms,8:F2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"in-process (same ack)     | {inProcess.PerSecond,10:F0} {inProcess.P50Ms,8:F2} {inProcess.P99Ms,8:F2}   (HTTP/in-process {http.PerSecond / inProcess.PerSecond:F2}x)"));
            return 0;
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }
    }

    private static async Task<LatencyRecorder.Result> LoadAsync(HttpClient client, int connections, int seconds, string body, string level, string run)
    {
        var expected = level == "durable" ? HttpStatusCode.Accepted : HttpStatusCode.Created;
        return await ClosedLoop.RunAsync(connections, seconds, async (c, i) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, string.Create(CultureInfo.InvariantCulture, $"/v1/entities/Entity/{run}-{c}-{i}"))
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Request-Id", string.Create(CultureInfo.InvariantCulture, $"{run}-{c}-{i}"));
            request.Headers.Add("Prefer", "nv-ack=" + level);
            using var response = await client.SendAsync(request);
            if (response.StatusCode != expected)
            {
                throw new InvalidOperationException($"unexpected {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        });
    }

    private static Process StartServer(string dataDir, int port)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Nv.sln")))
        {
            root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("Nv.sln not found");
        }

        var nv = Path.Combine(root, "src", "Nv.Cli", "bin", "Release", "net10.0", "nv.dll");
        var info = new ProcessStartInfo("dotnet", [nv, "serve"]) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.Environment["NV_DATA_DIR"] = dataDir;
        info.Environment["NV_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(HttpClient client, Process server)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"nv serve exited with code {server.ExitCode}");
            }

            try
            {
                using var ready = await client.GetAsync("/health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("nv serve did not become ready within 60 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
