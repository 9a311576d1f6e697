using System.Diagnostics;

namespace Nv.Host.Diagnostics;

/// <summary>Fault injection for crash tests: <c>NV_CRASH_AT=&lt;point&gt;[:n]</c> kills the process with SIGKILL the n-th time (default 1st) it reaches the named point.</summary>
/// <remarks>Inert when the variable is unset. Points: <c>after-wal-append</c> (records appended, not flushed),
/// <c>after-wal-flush</c> (durable, not applied), <c>after-db-write</c> (committed, not audited),
/// <c>after-audit</c> (audited, caller not answered), <c>mid-batch</c> (half of a batch appended and flushed, the rest not appended);
/// during boot replay, <c>replay-after-apply</c> (a batch committed to the database, not yet audited) and
/// <c>replay-after-audit</c> (a batch's audit entries committed).
/// SIGKILL gives the process no chance to flush or clean up, like a power cut for everything not yet on disk.</remarks>
internal static class CrashPoints
{
    public const string AfterWalAppend = "after-wal-append";
    public const string AfterWalFlush = "after-wal-flush";
    public const string AfterDbWrite = "after-db-write";
    public const string AfterAudit = "after-audit";
    public const string MidBatch = "mid-batch";
    public const string ReplayAfterApply = "replay-after-apply";
    public const string ReplayAfterAudit = "replay-after-audit";

    internal static readonly string[] All = [AfterWalAppend, AfterWalFlush, AfterDbWrite, AfterAudit, MidBatch, ReplayAfterApply, ReplayAfterAudit,
        "archive-after-write", "archive-after-rename", "prune-after-chunk"]; // the last three are the audit store's own (Nv.Audit)

    private static readonly string? Point;
    private static readonly long Target;
    private static long _hits;

    static CrashPoints()
    {
        var spec = Environment.GetEnvironmentVariable("NV_CRASH_AT");
        if (string.IsNullOrWhiteSpace(spec))
        {
            return;
        }

        var parts = spec.Split(':', 2);
        if (!All.Contains(parts[0], StringComparer.Ordinal))
        {
            throw new InvalidOperationException($"NV_CRASH_AT names unknown point '{parts[0]}'; known: {string.Join(", ", All)}");
        }

        Point = parts[0];
        Target = parts.Length == 2 && long.TryParse(parts[1], out var n) && n > 0 ? n : 1;
    }

    /// <summary>Whether <paramref name="point"/> is armed (so callers can shape work to reach it, e.g. split a batch).</summary>
    public static bool IsArmed(string point) => string.Equals(Point, point, StringComparison.Ordinal);

    /// <summary>Kills the process if <paramref name="point"/> is armed and this is its n-th hit.</summary>
    public static void Hit(string point)
    {
        if (!IsArmed(point))
        {
            return;
        }

        if (Interlocked.Increment(ref _hits) == Target)
        {
            Console.Error.WriteLine($"nv: NV_CRASH_AT={point}:{Target} reached, killing the process (SIGKILL)");
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
