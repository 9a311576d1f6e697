using System.Diagnostics;

namespace Nv.Audit.Archive;

/// <summary>Fault injection for the archive and prune crash tests: <c>NV_CRASH_AT=&lt;point&gt;[:n]</c> kills the process with
/// SIGKILL the n-th time it reaches one of these points (the host's own points live in <c>Nv.Host</c>, which accepts these
/// names too).</summary>
/// <remarks>Inert when the variable is unset or names another point. <c>archive-after-write</c>: the archive's temp file is
/// complete and synced, not renamed; <c>archive-after-rename</c>: the file is in place, not yet recorded;
/// <c>prune-after-chunk</c>: a chunk of entries is deleted and the pruned marker moved, the next chunk not started.</remarks>
internal static class AuditCrashPoints
{
    public const string ArchiveAfterWrite = "archive-after-write";
    public const string ArchiveAfterRename = "archive-after-rename";
    public const string PruneAfterChunk = "prune-after-chunk";

    private static readonly string? Point;
    private static readonly long Target;
    private static long _hits;

    static AuditCrashPoints()
    {
        var spec = Environment.GetEnvironmentVariable("NV_CRASH_AT");
        if (string.IsNullOrWhiteSpace(spec))
        {
            return;
        }

        var parts = spec.Split(':', 2);
        if (parts[0] is ArchiveAfterWrite or ArchiveAfterRename or PruneAfterChunk)
        {
            Point = parts[0];
            Target = parts.Length == 2 && long.TryParse(parts[1], out var n) && n > 0 ? n : 1;
        }
    }

    public static void Hit(string point)
    {
        if (!string.Equals(Point, point, StringComparison.Ordinal))
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
