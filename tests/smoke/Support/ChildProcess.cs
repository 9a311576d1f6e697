using System.Diagnostics;
using System.Globalization;

namespace Nv.Smoke.Tests.Support;

/// <summary>A child process (optionally started under a wrapper such as strace) whose output lines are collected as they
/// arrive, and which can be SIGKILLed: the real program, not its wrapper, so the wrapper can finish its log.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly bool _wrapped;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];

    private ChildProcess(Process process, bool wrapped)
    {
        _process = process;
        _wrapped = wrapped;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

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

    public IReadOnlyList<string> Stderr
    {
        get
        {
            lock (_stderr)
            {
                return [.. _stderr];
            }
        }
    }

    /// <summary>Starts <c>dotnet <paramref name="dll"/> args</c>, behind <paramref name="wrapper"/> when given.</summary>
    public static ChildProcess StartDotnet(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        IReadOnlyList<string>? wrapper = null)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build first: {dll} is missing.", dll);
        }

        var wrapped = wrapper is { Count: > 0 };
        var info = new ProcessStartInfo(wrapped ? wrapper![0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in wrapped ? wrapper!.Skip(1) : [])
        {
            info.ArgumentList.Add(arg);
        }

        if (wrapped)
        {
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["NV_CRASH_AT"] = "";
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process, wrapped);
        process.OutputDataReceived += (_, e) => Collect(child._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Collect(child._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private static void Collect(List<string> lines, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (lines)
        {
            lines.Add(line);
        }
    }

    /// <summary>Waits until <paramref name="predicate"/> holds for the lines so far (true) or the process exited or the time
    /// ran out (false).</summary>
    public async Task<bool> WaitUntilAsync(Func<ChildProcess, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (predicate(this))
            {
                return true;
            }

            if (_process.HasExited)
            {
                _process.WaitForExit();
                return predicate(this);
            }

            await Task.Delay(10, cancellationToken);
        }

        return false;
    }

    /// <summary>The first stderr or stdout line containing <paramref name="text"/>, or null.</summary>
    public string? FindLine(string text) =>
        Stderr.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) ?? Stdout.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>SIGKILLs the program (under a wrapper: the wrapper's child, so strace sees the kill and ends its log),
    /// then waits until the wrapper and the output readers are done.</summary>
    public void Kill(TimeSpan? wait = null)
    {
        try
        {
            if (_wrapped && !_process.HasExited && ChildOf(_process.Id) is { } program)
            {
                using var target = Process.GetProcessById(program);
                target.Kill();
            }
            else if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }

        if (!_process.WaitForExit(wait ?? TimeSpan.FromSeconds(60)))
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    /// <summary>Waits for the process to exit on its own; kills it and throws on timeout.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"the process did not exit within {timeout}\n{Describe()}");
        }

        _process.WaitForExit();
    }

    public string Describe(int lines = 30)
    {
        var exit = _process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "running";
        return $"exit {exit}\n--- stdout (tail)\n{string.Join('\n', Stdout.Where(l => !l.StartsWith("ACK ", StringComparison.Ordinal)).TakeLast(lines))}"
            + $"\n--- stderr (tail, repeats folded)\n{string.Join('\n', FoldRepeats(Stderr).TakeLast(lines))}";
    }

    // A periodic log line repeated for minutes would push everything else out of the tail: consecutive lines that differ
    // only in their "[hh:mm:ss LVL]" time are folded into the first one and a count.
    private static List<string> FoldRepeats(IEnumerable<string> lines)
    {
        var folded = new List<string>();
        string? previous = null;
        var repeats = 0;
        foreach (var line in lines)
        {
            var message = line.Length > 10 && line[0] == '[' && line[9] == ' ' ? line[10..] : line;
            if (message == previous)
            {
                repeats++;
                continue;
            }

            if (repeats > 0)
            {
                folded.Add($"    (repeated {repeats} more times)");
            }

            folded.Add(line);
            previous = message;
            repeats = 0;
        }

        if (repeats > 0)
        {
            folded.Add($"    (repeated {repeats} more times)");
        }

        return folded;
    }

    private static int? ChildOf(int pid)
    {
        try
        {
            var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return children.Length > 0 ? int.Parse(children[0], CultureInfo.InvariantCulture) : null;
        }
        catch (IOException)
        {
            return null;
        }
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
