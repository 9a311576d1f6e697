using System.Diagnostics;

namespace Nv.Smoke.Tests.Support;

/// <summary>Runs the real <c>nv</c> binary as a child process and captures its output.</summary>
internal static class NvProcess
{
    /// <summary>SIGKILL shows up as exit code 128 + 9.</summary>
    public const int KilledExitCode = 137;

    public static async Task<NvRun> RunAsync(string dataDir, IReadOnlyDictionary<string, string>? env, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(RepoPaths.NvDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["NV_DATA_DIR"] = dataDir;
        info.Environment["NV_CRASH_AT"] = "";
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start nv");
        var stdout = new List<string>();
        var stderr = new List<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"nv {string.Join(' ', args)} did not finish within {timeout}; stderr tail:\n{string.Join('\n', stderr.TakeLast(30))}");
        }

        process.WaitForExit(); // drains the async output readers
        return new NvRun(process.ExitCode, stdout, stderr);
    }
}

/// <summary>What one nv run printed and how it ended.</summary>
internal sealed record NvRun(int ExitCode, IReadOnlyList<string> Stdout, IReadOnlyList<string> Stderr)
{
    public string Describe() => $"exit {ExitCode}\n--- stdout (tail)\n{string.Join('\n', Stdout.TakeLast(10))}\n--- stderr (tail)\n{string.Join('\n', Stderr.TakeLast(40))}";
}
