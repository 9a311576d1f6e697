using System.Diagnostics;

namespace Nv.Smoke.Tests.Wal;

/// <summary>Whether the tools the I/O-fault tests need exist and work here; each check returns the reason to skip.</summary>
internal static class FaultTools
{
    private static readonly Lazy<string?> StraceProblem = new(() =>
    {
        // ptrace is often blocked in containers: a real injection proves strace works, not just that it is installed.
        var (exit, output) = Run("strace", "-f", "-qq", "-e", "trace=none", "-e", "inject=getpid:error=EPERM", "true");
        return exit == 0 ? null : $"strace is not usable here (exit {exit}: {output.Trim()}); install it (apt-get install strace) and allow ptrace";
    });

    /// <summary>Null when strace can inject syscall errors into a child, otherwise why not.</summary>
    public static string? Strace => StraceProblem.Value;

    /// <summary>Null when this process may mount filesystems (root), otherwise why not.</summary>
    public static string? Mount =>
        !OperatingSystem.IsLinux() ? "mount tests need Linux"
        : Environment.UserName != "root" ? $"mounting a tmpfs needs root (running as {Environment.UserName})"
        : Run("mount", "--version").Exit != 0 ? "mount (util-linux) is not installed"
        : null;

    /// <summary>The wrapper that runs the child under strace, failing <paramref name="syscalls"/> from the <paramref name="from"/>-th call on.</summary>
    /// <remarks>
    /// strace injects only into syscalls it traces: <c>-e trace=none</c> silently injects nothing, so the syscalls are
    /// traced into /dev/null. strace counts calls per thread, so "from the n-th call" means each thread's n-th call.
    /// </remarks>
    public static string[] StraceInject(string syscalls, string error, int from) =>
        ["strace", "-f", "-qq", "-o", "/dev/null", "-e", $"trace={syscalls}", "-e", "signal=none", "-e", $"inject={syscalls}:error={error}:when={from}+"];

    /// <summary>Like <see cref="StraceInject(string, string, int)"/>, but only calls on <paramref name="paths"/> are traced,
    /// counted and failed (strace <c>-P</c>: a path argument, or a descriptor open on that path when the call is made).</summary>
    /// <remarks>The count is still per thread, but only calls on these paths count: other files' fsyncs no longer shift it.</remarks>
    public static string[] StraceInjectOn(IEnumerable<string> paths, string syscalls, string error, int from) =>
        [
            "strace", "-f", "-qq", "-o", "/dev/null", .. paths.SelectMany(p => new[] { "-P", p }),
            "-e", $"trace={syscalls}", "-e", "signal=none", "-e", $"inject={syscalls}:error={error}:when={from}+",
        ];

    public static (int Exit, string Output) Run(string command, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(command)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill();
                return (-1, $"{command} timed out");
            }

            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, $"{command}: {ex.Message}");
        }
    }
}
