using Microsoft.Extensions.Logging;

namespace Nv.Wal;

/// <summary>Source-generated log messages of Nv.Wal (event ids 1000–1099 are stable).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information,
        "WAL opened in {Directory}: {RecordCount} records, LSN {FirstLsn}..{LastLsn}, recovered in {DurationMs} ms")]
    public static partial void Opened(ILogger logger, string directory, long recordCount, long firstLsn, long lastLsn, long durationMs);

    [LoggerMessage(1001, LogLevel.Warning,
        "Cut the WAL at address {Address} in {Path} ({Reason}); last good LSN {LastGoodLsn}; {Bytes} damaged bytes saved to {BrokenPath}")]
    public static partial void TailCut(ILogger logger, long address, string path, string reason, long lastGoodLsn, long bytes, string brokenPath);

    [LoggerMessage(1002, LogLevel.Error,
        "Skipped a damaged WAL region at address {Address} in {Path} ({Reason}); {MissingLsns} LSNs lost before LSN {NextLsn}; the bytes are saved to {BrokenPath}")]
    public static partial void RegionSkipped(ILogger logger, long address, string path, string reason, long missingLsns, long nextLsn, string brokenPath);

    [LoggerMessage(1003, LogLevel.Error,
        "FasterLog recovered committed address {CommittedAddress} (error: {RecoveryError}) but the segment files hold {RecordCount} valid records; rebuilding from the files")]
    public static partial void FasterRecoveredShort(ILogger logger, long committedAddress, string recoveryError, long recordCount);

    [LoggerMessage(1004, LogLevel.Warning,
        "Unparseable bytes at WAL address {Address} ({Reason}) are followed by the expected LSN {Lsn}; no record is lost")]
    public static partial void BenignGap(ILogger logger, long address, string reason, long lsn);

    [LoggerMessage(1005, LogLevel.Warning,
        "Ignoring the watermark checkpoint: {Detail}; watermarks restart at 0 (replay is idempotent; the host recomputes them from the stores)")]
    public static partial void CheckpointCorrupt(ILogger logger, string detail);

    [LoggerMessage(1006, LogLevel.Critical,
        "Data loss: the watermark checkpoint says LSN {Watermark} was applied/audited but the WAL ends at LSN {LastLsn}; new LSNs continue after {Watermark}")]
    public static partial void WatermarkAhead(ILogger logger, long watermark, long lastLsn);

    [LoggerMessage(1007, LogLevel.Critical, "WAL faulted: {Message} (path {Path}, errno {Errno}); nothing more is acknowledged")]
    public static partial void Faulted(ILogger logger, Exception exception, string message, string? path, int? errno);

    [LoggerMessage(1008, LogLevel.Debug, "Group commit made LSN {Lsn} durable for {Waiters} waiters")]
    public static partial void Committed(ILogger logger, long lsn, int waiters);

    [LoggerMessage(1009, LogLevel.Information, "Truncated the WAL below LSN {FirstLsn} (address {Address}); {SegmentCount} segments remain")]
    public static partial void Truncated(ILogger logger, long firstLsn, long address, int segmentCount);

    [LoggerMessage(1010, LogLevel.Error, "Persisting the WAL watermarks failed")]
    public static partial void WatermarkPersistFailed(ILogger logger, Exception exception);

    [LoggerMessage(1011, LogLevel.Warning, "Rebuilt the WAL from {RecordCount} valid records (LSN {FirstLsn}..{LastLsn})")]
    public static partial void Rebuilt(ILogger logger, long recordCount, long firstLsn, long lastLsn);

    [LoggerMessage(1012, LogLevel.Error,
        "Point-in-time recovery cut the WAL at address {Address} in {Path} ({Reason}); valid records after it were dropped; saved to {BrokenPath}")]
    public static partial void PointInTimeCut(ILogger logger, long address, string path, string reason, string brokenPath);

    [LoggerMessage(1013, LogLevel.Information, "WAL closed at LSN {LastLsn} (durable {DurableLsn})")]
    public static partial void Closed(ILogger logger, long lastLsn, long durableLsn);

    [LoggerMessage(1015, LogLevel.Critical,
        "{Mode} recovery cut acknowledged WAL records at address {Address} in {Path} ({Reason}) after LSN {LastGoodLsn}; they were durable up to address {DurableAddress}; saved to {BrokenPath}")]
    public static partial void AcknowledgedCut(ILogger logger, long address, string path, string reason, long lastGoodLsn, long durableAddress,
        WalRecoveryMode mode, string brokenPath);

    [LoggerMessage(1016, LogLevel.Warning,
        "The original WAL of an earlier rebuild is kept in {Path} until this open has verified the rebuilt log; it is deleted after that")]
    public static partial void OriginalKept(ILogger logger, string path);

    [LoggerMessage(1017, LogLevel.Warning,
        "LSNs continue after {HighestSeen}: the WAL ended at LSN {LastLsn}, and the LSNs between were never in it; the jump is recorded in {Path}")]
    public static partial void ContinuedAfter(ILogger logger, long highestSeen, long lastLsn, string path);

    [LoggerMessage(1014, LogLevel.Warning,
        "The watermark checkpoint {Path} is missing although the WAL holds records; watermarks restart at 0 (the host recomputes them from the stores)")]
    public static partial void CheckpointMissing(ILogger logger, string path);

    [LoggerMessage(1019, LogLevel.Warning,
        "The WAL in {Directory} was opened read-only and was not repaired: {Details}; reads stop before the damage, a read-write open repairs it")]
    public static partial void ReadOnlyNotRepaired(ILogger logger, string directory, string details);

    [LoggerMessage(1020, LogLevel.Error,
        "The WAL's closing commit failed; records appended after LSN {DurableLsn} (never acknowledged) may be lost, and the next open verifies the files")]
    public static partial void CloseCommitFailed(ILogger logger, Exception exception, long durableLsn);

    [LoggerMessage(1018, LogLevel.Critical,
        "NV_TEST_UNSAFE_WAL_NO_OSYNC=1: the WAL segments in {Directory} are opened without O_SYNC; acknowledged writes are NOT durable (test-only negative control)")]
    public static partial void UnsafeNoSync(ILogger logger, string directory);
}
