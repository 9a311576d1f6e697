using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Nv.Smoke.Tests.Support;

/// <summary>The real <c>nv serve</c> as a child process on a port the kernel picks (<c>NV_URLS=http://127.0.0.1:0</c>; the
/// bound address is read from the host's "Now listening on" line, so there is no free-port race), optionally under a
/// wrapper such as strace.</summary>
internal sealed partial class NvServer : IDisposable
{
    private readonly ChildProcess _process;

    private NvServer(ChildProcess process)
    {
        _process = process;
    }

    public ChildProcess Process => _process;

    public HttpClient Client { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Starts <c>nv serve</c> on <paramref name="dataDir"/> and waits until it listens (not until it is ready:
    /// see <see cref="WaitReadyAsync"/>). Throws with the output when it exits first.</summary>
    public static async Task<NvServer> StartAsync(string dataDir, IReadOnlyDictionary<string, string>? env, IReadOnlyList<string>? wrapper,
        CancellationToken cancellationToken)
    {
        var all = new Dictionary<string, string>(env ?? new Dictionary<string, string>())
        {
            ["NV_DATA_DIR"] = dataDir,
            ["NV_URLS"] = "http://127.0.0.1:0",
        };
        var server = new NvServer(ChildProcess.StartDotnet(RepoPaths.NvDll, ["serve"], all, wrapper));
        var listening = await server._process.WaitUntilAsync(p => p.FindLine("Now listening on:") is not null, TimeSpan.FromSeconds(90), cancellationToken);
        if (!listening)
        {
            var description = server._process.Describe();
            server.Dispose();
            throw new InvalidOperationException($"nv serve did not start listening\n{description}");
        }

        var url = ListeningPattern().Match(server._process.FindLine("Now listening on:")!).Groups[1].Value;
        server.BaseAddress = new Uri(url);
        server.Client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        return server;
    }

    [GeneratedRegex(@"Now listening on: (http://[^\s]+)")]
    private static partial Regex ListeningPattern();

    /// <summary>Waits for <c>/health/ready</c> (boot replay done); false when the process died or the time ran out.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout && !_process.HasExited)
        {
            try
            {
                using var response = await Client.GetAsync(new Uri("/health/ready", UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50, cancellationToken);
        }

        return false;
    }

    /// <summary>SIGTERM: the host drains its pipeline, writes its stop entry and checkpoints, then exits.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cancellationToken);
        }

        await _process.WaitForExitAsync(TimeSpan.FromSeconds(60), cancellationToken);
    }

    /// <summary>SIGKILL (the program, not its wrapper).</summary>
    public void Kill() => _process.Kill();

    public void Dispose()
    {
        Client?.Dispose();
        _process.Dispose();
    }
}
