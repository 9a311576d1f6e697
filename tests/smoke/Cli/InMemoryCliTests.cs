using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The in-memory mode from the real <c>nv</c> binary: <c>nv serve</c> refuses it when only configuration asks,
/// serves it when started with <c>--in-memory</c> (and says loudly that nothing is durable), and no store file is written.</summary>
public sealed class InMemoryCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static readonly Dictionary<string, string> InMemory = new() { ["Nv__Pipeline__InMemory"] = "true" };

    private static void AssertNoStoreFiles(string dataDir)
    {
        Assert.False(File.Exists(Path.Combine(dataDir, "nv.db")), "nv.db was written");
        Assert.False(File.Exists(Path.Combine(dataDir, "audit.db")), "audit.db was written");
        Assert.False(Directory.Exists(Path.Combine(dataDir, "wal")), "a WAL directory was made");
    }

    [Fact]
    public async Task Serve_refuses_the_in_memory_mode_when_only_configuration_asks_for_it()
    {
        using var dir = new TempDirectory("mem-refuse");
        var run = await NvProcess.RunAsync(dir.Path, InMemory, Timeout, "serve");
        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains(run.Stderr, l => l.Contains("--in-memory", StringComparison.Ordinal) && l.StartsWith("nv: error:", StringComparison.Ordinal));
        AssertNoStoreFiles(dir.Path);
    }

    [Fact]
    public async Task Load_runs_in_memory_with_the_same_rules_and_writes_no_store_file()
    {
        using var dir = new TempDirectory("mem-load");
        var run = await NvProcess.RunAsync(dir.Path, InMemory, Timeout, "load", "--count", "200", "--writers", "8", "--entities", "20", "--run-id", "mem");
        Assert.True(run.ExitCode == 0, run.Describe());
        var acks = Ack.Parse(run.Stdout);
        Assert.Equal(200, acks.Count);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), acks.Select(a => a.Lsn).Order());
        Assert.Contains(acks, a => a.Status == "Rejected"); // conflicts on overlapping entities, as on disk
        Assert.Contains(run.Stderr, l => l.Contains("NOTHING IS DURABLE", StringComparison.Ordinal));
        AssertNoStoreFiles(dir.Path);
    }

    [Fact]
    public async Task Serve_with_in_memory_serves_batches_and_warns_that_nothing_is_durable()
    {
        using var dir = new TempDirectory("mem-serve");
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(RepoPaths.NvDll);
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--in-memory");
        info.Environment["NV_DATA_DIR"] = dir.Path;
        info.Environment["NV_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["NV_CRASH_AT"] = "";
        var stderr = new List<string>();
        using var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.Add(e.Data); } } };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = DateTime.UtcNow + Timeout;
            while (true)
            {
                Assert.False(process.HasExited, "nv serve --in-memory exited: " + string.Join('\n', stderr));
                try
                {
                    if ((await http.GetAsync("/health/ready", TestContext.Current.CancellationToken)).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                Assert.True(DateTime.UtcNow < deadline, "not ready in time: " + string.Join('\n', stderr));
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/batch")
            {
                Content = new StringContent("""{"items":[{"op":"create","dtoType":"Order","entityId":"o-1","payload":{"n":1}},{"op":"create","dtoType":"Stock","entityId":"s-1","payload":{"q":2}}]}""",
                    Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Request-Id", "mem-batch");
            var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/entities/Stock/s-1", TestContext.Current.CancellationToken)).StatusCode);
            lock (stderr)
            {
                Assert.Contains(stderr, l => l.Contains("nothing is durable", StringComparison.OrdinalIgnoreCase));
            }

            AssertNoStoreFiles(dir.Path);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
