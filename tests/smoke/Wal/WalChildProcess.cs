using System.Diagnostics;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Wal;

/// <summary>One run of <c>Nv.Smoke.WalChild</c> (optionally under a wrapper such as strace), its output lines as they arrive.</summary>
internal sealed class WalChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _killedOnLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _killPrefix;
    private int _killCountdown;

    private WalChildProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The child's dll, built next to the tests in the same configuration (the smoke project references it).</summary>
    public static string ChildDll { get; } = Path.Combine(
        RepoPaths.Root, "tests", "smoke", "Nv.Smoke.WalChild", "bin", RepoPaths.Configuration, "net10.0", "Nv.Smoke.WalChild.dll");

    public IReadOnlyList<string> Stdout
    {
        get
        {
            lock (_stdout)
            {
                return [.. _stdout];
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the child; <paramref name="wrapper"/> (e.g. strace and its options) is put in front of <c>dotnet</c>.</summary>
    public static WalChildProcess Start(IEnumerable<string> childArgs, IReadOnlyList<string>? wrapper = null)
    {
        if (!File.Exists(ChildDll))
        {
            throw new FileNotFoundException($"Build tests/smoke first: {ChildDll} is missing.", ChildDll);
        }

        var command = wrapper is { Count: > 0 } ? wrapper[0] : "dotnet";
        var info = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (wrapper is { Count: > 0 })
        {
            foreach (var arg in wrapper.Skip(1))
            {
                info.ArgumentList.Add(arg);
            }

            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(ChildDll);
        foreach (var arg in childArgs)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_gcServer"] = "0";
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new WalChildProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._stdout)
                {
                    child._stdout.Add(e.Data);
                    if (child._killPrefix is { } prefix && e.Data.StartsWith(prefix, StringComparison.Ordinal) && --child._killCountdown == 0)
                    {
                        child.KillNow();
                    }
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._stderr)
                {
                    child._stderr.Add(e.Data);
                }
            }
        };
        process.Exited += (_, _) => child._exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until a line starting with <paramref name="prefix"/> arrived (true) or the child exited / time ran out (false).</summary>
    public async Task<bool> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            lock (_stdout)
            {
                if (_stdout.Exists(l => l.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    return true;
                }
            }

            if (_exited.Task.IsCompleted)
            {
                // Exited: the output readers may still be draining.
                _process.WaitForExit();
                lock (_stdout)
                {
                    return _stdout.Exists(l => l.StartsWith(prefix, StringComparison.Ordinal));
                }
            }

            await Task.Delay(5);
        }

        return false;
    }

    /// <summary>Arms a SIGKILL sent from the output reader the moment the <paramref name="count"/>th line starting with
    /// <paramref name="prefix"/> (counting lines already read) arrives, with no polling delay; the task completes then.</summary>
    public Task KillOnLineAsync(string prefix, int count)
    {
        lock (_stdout)
        {
            _killCountdown = count - _stdout.Count(l => l.StartsWith(prefix, StringComparison.Ordinal));
            _killPrefix = prefix;
            if (_killCountdown <= 0)
            {
                KillNow();
            }
        }

        return _killedOnLine.Task;
    }

    /// <summary>SIGKILL (no chance to flush or close anything), then waits until every line it printed was read.</summary>
    /// <remarks>The whole tree: killing only a strace wrapper would detach it and leave the child running.</remarks>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        _process.WaitForExit();
    }

    private void KillNow()
    {
        _killPrefix = null;
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        _killedOnLine.TrySetResult();
    }

    /// <summary>Waits for a normal exit (kills the child and throws on timeout).</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"the WAL child did not exit within {timeout}.\n{Describe()}");
        }

        _process.WaitForExit();
    }

    public string Describe()
    {
        string[] stdout;
        string[] stderr;
        lock (_stdout)
        {
            stdout = [.. _stdout.Where(l => !l.StartsWith("ACK ", StringComparison.Ordinal)).TakeLast(20)];
        }

        lock (_stderr)
        {
            stderr = [.. _stderr.TakeLast(30)];
        }

        var exit = _process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "running";
        return $"exit {exit}\n--- stdout (non-ACK tail)\n{string.Join('\n', stdout)}\n--- stderr (tail)\n{string.Join('\n', stderr)}";
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
