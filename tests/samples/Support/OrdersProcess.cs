using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Nv.Samples.Tests.Support;

/// <summary>The Orders sample as a real child process (<c>dotnet Orders.dll</c>) on a free loopback port.</summary>
internal sealed class OrdersProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private OrdersProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the process wrote (stdout and stderr), for failure messages.</summary>
    public string Tail
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(30));
            }
        }
    }

    /// <summary>Starts <paramref name="dll"/> over <paramref name="dataDir"/> and waits until <c>/health/ready</c> answers 200.</summary>
    public static async Task<OrdersProcess> StartAsync(string dll, string dataDir, IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("The Orders sample is not built: " + dll);
        }

        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var arg in new[] { dll, "--Nv:DataDirectory=" + dataDir, "--Urls=" + address, "--Logging:LogLevel:Default=Warning" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["NV_CRASH_AT"] = "";
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the Orders sample");
        var started = new OrdersProcess(process, address);
        process.OutputDataReceived += (_, e) => started.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => started.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await started.WaitReadyAsync(timeout ?? TimeSpan.FromSeconds(90));
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }

        return started;
    }

    /// <summary>SIGKILL: no chance to flush or clean up.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Client.Dispose();
        _process.Dispose();
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the Orders sample exited with {_process.ExitCode} before it was ready:\n{Tail}");
            }

            try
            {
                using var response = await Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the Orders sample was not ready within {timeout}:\n{Tail}");
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
