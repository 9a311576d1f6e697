using System.Diagnostics;

namespace Nv.DbWriter;

/// <summary>The one crash point inside a database writer, for crash tests: <c>NV_CRASH_AT=mid-batch-apply[:n]</c> kills the
/// process with SIGKILL the n-th time a batch record has written half of its items inside its open transaction.</summary>
/// <remarks>Inert when the variable is unset or names another point (the host's own points are handled by the host,
/// which knows this name too). Kept here because the writer cannot reference the host.</remarks>
internal static class DbCrashPoint
{
    public const string MidBatchApply = "mid-batch-apply";

    private static readonly long Target;
    private static long _hits;

    static DbCrashPoint()
    {
        var spec = Environment.GetEnvironmentVariable("NV_CRASH_AT");
        if (string.IsNullOrWhiteSpace(spec))
        {
            return;
        }

        var parts = spec.Split(':', 2);
        if (parts[0] == MidBatchApply)
        {
            Target = parts.Length == 2 && long.TryParse(parts[1], out var n) && n > 0 ? n : 1;
        }
    }

    public static bool IsArmed => Target > 0;

    /// <summary>Kills the process on the n-th hit when armed.</summary>
    public static void Hit()
    {
        if (Target == 0 || Interlocked.Increment(ref _hits) != Target)
        {
            return;
        }

        Console.Error.WriteLine($"nv: NV_CRASH_AT={MidBatchApply}:{Target} reached, killing the process (SIGKILL)");
        Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }
}
