using System.Diagnostics;

namespace Nv.Host.Diagnostics;

/// <summary>Fault injection for crash tests: <c>NV_CRASH_AT=&lt;point&gt;[:n]</c> kills the process with SIGKILL the n-th time (default 1st) it reaches the named point.</summary>
/// <remarks>Inert when the variable is unset. Points: <c>after-wal-append</c> (records appended, not flushed),
/// <c>after-wal-flush</c> (durable, not applied), <c>after-db-write</c> (committed, not audited),
/// <c>after-audit</c> (audited, caller not answered), <c>mid-batch</c> (half of a batch appended and flushed, the rest not appended);
/// during boot replay, <c>replay-after-apply</c> (a batch committed to the database, not yet audited) and
/// <c>replay-after-audit</c> (a batch's audit entries committed); <c>mid-batch-apply</c> (half of a batch record's items written
/// inside the database transaction, not committed; handled by the SQLite writer); at boot, <c>boot-after-wal-open</c> (recovery and any tail
/// cut done), <c>boot-after-stores-open</c> (database and audit store opened, schemas created or migrated) and
/// <c>boot-after-replay</c> (replayed and backfilled, not yet accepting writes); <c>after-watermark-persist</c> (the
/// watermark file replaced, at the end of boot replay and at stop); in maintenance, <c>after-wal-truncate</c> (segments
/// removed, the database's resolutions not yet purged) and <c>after-resolution-purge</c>; in the audit path,
/// <c>after-backfill-batch</c> (a backfilled batch appended, the audited watermark not yet moved), <c>after-park</c> (a
/// system entry parked on disk), <c>after-unpark-append</c> (parked entries appended to the store, their files not yet
/// removed) and <c>after-checkpoint-sign</c> (checkpoints signed at stop); <c>erase-before-scrub</c> (an erasure applied, audited and
/// durable, its store not yet scrubbed).
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
    public const string BootAfterWalOpen = "boot-after-wal-open";
    public const string BootAfterStoresOpen = "boot-after-stores-open";
    public const string BootAfterReplay = "boot-after-replay";
    public const string AfterWatermarkPersist = "after-watermark-persist";
    public const string AfterWalTruncate = "after-wal-truncate";
    public const string AfterResolutionPurge = "after-resolution-purge";
    public const string AfterBackfillBatch = "after-backfill-batch";
    public const string AfterPark = "after-park";
    public const string AfterUnparkAppend = "after-unpark-append";
    public const string AfterCheckpointSign = "after-checkpoint-sign";
    public const string EraseBeforeScrub = "erase-before-scrub";

    /// <summary>Inside the database writer (Nv.DbWriter handles it): half of a batch record's items written in the open transaction.</summary>
    public const string MidBatchApply = "mid-batch-apply";

    internal static readonly string[] All =
    [
        AfterWalAppend, AfterWalFlush, AfterDbWrite, AfterAudit, MidBatch, ReplayAfterApply, ReplayAfterAudit, MidBatchApply, BootAfterWalOpen,
        BootAfterStoresOpen, BootAfterReplay, AfterWatermarkPersist, AfterWalTruncate, AfterResolutionPurge, AfterBackfillBatch, AfterPark,
        AfterUnparkAppend, AfterCheckpointSign, EraseBeforeScrub,
        "archive-after-write", "archive-after-rename", "prune-after-chunk", // the audit store's own (Nv.Audit)
    ];

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
