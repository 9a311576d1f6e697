using System.Diagnostics;
using System.Globalization;
using FASTER.core;
using Nv.Wal.IO;
using Nv.Wal.Recovery;
using Nv.Wal.Watermarks;

namespace Nv.Wal;

/// <summary>Opening the log: FasterLog recovery, then Nv's own verification against the segment files.</summary>
/// <remarks>
/// FasterLog's recovery is not trusted on its own: its constructor swallows recovery errors (so Nv calls
/// <c>Recover</c> itself), it can come back empty over existing segments, and it can report a committed address the
/// files do not hold. Nv therefore parses every entry of the committed range from the files (<see cref="LogScanner"/>),
/// validating frame, CRC and sequence. When FasterLog recovered nothing (or failed), the files are scanned to their
/// end instead. Damage handling follows <see cref="WalOptions.RecoveryMode"/>; whenever records must be dropped the
/// valid records are copied into a fresh FasterLog (<c>log.rebuild</c>) which atomically replaces <c>log</c>, after
/// the damaged bytes were saved to a <c>*.broken</c> file. Rebuilding (rather than moving FasterLog's tail back) also
/// guarantees no stale bytes remain past the new tail.
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
    private const string LogFolder = "log";
    private const string SegmentBaseName = "nv.log";
    private const string RebuildFolder = "log.rebuild";
    private const string OldFolder = "log.old";
    private const string RebuildCompleteMarker = "rebuild.complete";
    private static readonly TimeSpan CommitMetadataInterval = TimeSpan.FromMilliseconds(100);
    private long _syncedSegment = -1;
    private LazyLogCommitManager _commitManager = null!;

    private sealed class Validation
    {
        public long First { get; set; }

        public long FirstAddress { get; set; }

        public long Last { get; set; }

        public long Count { get; set; }

        public long EndAddress { get; set; }

        public long Skipped { get; set; }

        public long TailBytesCut { get; set; }

        public string? BrokenPath { get; set; }

        public bool NeedsRebuild { get; set; }

        public List<(long From, long To)> Keep { get; } = [];

        public List<string> Details { get; } = [];
    }

    private WalRecoveryReport Recover()
    {
        var stopwatch = Stopwatch.StartNew();
        var details = new List<string>();
        Directory.CreateDirectory(_directory);
        CompletePendingRebuild();
        LoadWatermarks(details);
        try
        {
            OpenFaster(out var recoverError);
            var segments = ListSegments(_logDirectory);
            var begin = _log.BeginAddress;
            var committed = _log.CommittedUntilAddress;
            var fasterEmpty = recoverError is not null || committed <= begin;
            var from = begin;
            var end = committed;
            if (fasterEmpty)
            {
                from = segments.Count > 0 ? Math.Max(LogScanner.FirstValidAddress, segments[0].Index << _options.SegmentSizeBits) : begin;
                end = long.MaxValue;
            }

            var diskEnd = segments.Count > 0 ? (segments[^1].Index + 1) << _options.SegmentSizeBits : 0;

            // Where acknowledged data surely ends: the newest commit metadata's address (written only after its commit
            // completed). FasterLog's committed address can lie further, at a commit record whose write reached the disk
            // while an earlier write of the same flush, never acknowledged, did not (both in flight at a power loss):
            // never-written bytes past this point are an unacknowledged tail, not corruption.
            var metadataPoint = _commitManager.LatestMetadataUntilAddress();
            var acknowledged = fasterEmpty ? -1 : metadataPoint >= 0 ? Math.Min(committed, metadataPoint) : committed;
            var metadataProven = !fasterEmpty && metadataPoint >= 0;

            // Commit metadata is written lazily, so FasterLog's committed address usually comes from its forward scan for
            // commit records, which stops silently at the first damaged entry. Nv therefore always parses the files to
            // their end and compares where the entries really end with what FasterLog recovered.
            var result = Validate(from, long.MaxValue, diskEnd, acknowledged, metadataProven);
            if (!fasterEmpty && !result.NeedsRebuild && result.EndAddress < end)
            {
                // The files end before FasterLog's committed address: the exact check reports that as damage.
                result = Validate(from, end, diskEnd, acknowledged, metadataProven);
            }
            else if (!fasterEmpty && !result.NeedsRebuild && result.EndAddress > end)
            {
                // Intact entries past the last commit (a page flushed before its commit record): never acknowledged, but
                // valid and in sequence. They are kept, and the log is rebuilt so FasterLog's tail covers them (new appends
                // must never land below bytes that parse as records).
                result.Details.Add($"{result.EndAddress - end} bytes of intact entries after FasterLog's committed address {end} kept (never acknowledged)");
                result.NeedsRebuild = true;
            }
            if (fasterEmpty && (result.Count > 0 || recoverError is not null))
            {
                var reason = recoverError?.Message ?? "none; recovered an empty log";
                if (result.Count > 0)
                {
                    if (_options.RecoveryMode == WalRecoveryMode.AbsoluteConsistency)
                    {
                        throw new WalCorruptionException(
                            $"FasterLog recovered committed address {committed} (error: {reason}) but the segment files hold {result.Count} valid records (LSN {result.First}..{result.Last}); refusing to open in AbsoluteConsistency mode.",
                            _reader.SegmentPath(from), committed, Lsn.None, recoverError);
                    }

                    Log.FasterRecoveredShort(_logger, committed, reason, result.Count);
                    result.Details.Add($"FasterLog recovered an empty log (error: {reason}) over {result.Count} valid records; rebuilt from the segment files");
                }

                result.NeedsRebuild = true;
            }

            if (result.NeedsRebuild)
            {
                Rebuild(result.Keep);
                var rebuilt = Validate(_log.BeginAddress, _log.CommittedUntilAddress, 0, -1, proven: false);
                if (rebuilt.NeedsRebuild || rebuilt.Count != result.Count)
                {
                    throw new InvalidOperationException(
                        $"The rebuilt WAL does not verify ({rebuilt.Count} records, expected {result.Count}).");
                }

                Log.Rebuilt(_logger, rebuilt.Count, rebuilt.First, rebuilt.Last);
                rebuilt.Details.InsertRange(0, result.Details);
                rebuilt.Skipped = result.Skipped;
                rebuilt.TailBytesCut = result.TailBytesCut;
                rebuilt.BrokenPath = result.BrokenPath;
                result = rebuilt;
            }

            details.AddRange(result.Details);
            _firstLsn = result.First;
            _firstAddress = result.Count > 0 ? result.FirstAddress : _log.BeginAddress;
            _lastLsn = result.Last;
            CheckWatermarksAgainstLog(result, details);
            _durable = new DurablePoint(_lastLsn, result.Count > 0 ? result.EndAddress : _log.CommittedUntilAddress);
            // FasterLog never fsyncs directories. The tail segment may have been created by a run that crashed before
            // its flush fsynced the directory (or not exist yet in a new log): make the entries durable now, and let the
            // first flush fsync again when FasterLog has yet to create the tail segment's file.
            NativeFileSync.FsyncDirectory(_logDirectory);
            NativeFileSync.FsyncDirectory(_directory);
            var tailSegment = _log.TailAddress >> _options.SegmentSizeBits;
            _syncedSegment = File.Exists($"{Path.Combine(_logDirectory, SegmentBaseName)}.{tailSegment}") ? tailSegment : tailSegment - 1;

            var report = new WalRecoveryReport
            {
                RecordCount = result.Count,
                FirstLsn = new Lsn(result.First),
                LastLsn = new Lsn(result.Last),
                TailBytesCut = result.TailBytesCut,
                BrokenTailPath = result.BrokenPath,
                RecordsSkipped = result.Skipped,
                Detail = details.Count == 0 ? null : string.Join("; ", details),
                Duration = stopwatch.Elapsed,
            };
            Log.Opened(_logger, _directory, report.RecordCount, report.FirstLsn.Value, report.LastLsn.Value, (long)report.Duration.TotalMilliseconds);
            return report;
        }
        catch
        {
            CloseFaster();
            throw;
        }
    }

    // commitPoint: the last address known to be acknowledged (the newest commit metadata's, never past FasterLog's
    // recovered committed address), or -1 when unknown. LSNs must be dense: a missing LSN is damage. When the missing
    // records' bytes were never written (all zeros: a failed, torn or reordered write, e.g. EIO/ENOSPC, or a power loss
    // with two writes in flight of which only the later reached the disk) and they lie past the commit point, nothing
    // from there on was ever acknowledged (a flush completes only when every earlier byte is committed): that is a
    // damaged tail, cut and saved aside. Written-but-corrupt bytes, or a gap below the commit point, stay mid-log
    // corruption (refuse to open).
    // proven: commitPoint comes from commit metadata, so it is proof of acknowledgement. Then any damage at or past it
    // is a tail too, zero-filled or not: a power loss tears the record in flight (its first sectors written, the rest
    // not) and may still let a later write of the same flush, holding valid records and a commit record, reach the disk.
    // Damage below it stays corruption.
    private Validation Validate(long from, long end, long diskEnd, long commitPoint, bool proven)
    {
        var uncommittedGap = false;
        var afterSkip = false;
        _index.Clear();
        var result = new Validation { FirstAddress = from, EndAddress = from };
        var scanner = new LogScanner(_reader, _options.PageSizeBits);
        var address = from;
        var rangeStart = from;
        var previous = 0L;
        var searchEnd = end == long.MaxValue ? diskEnd : end;
        while (true)
        {
            var step = scanner.Next(ref address, end);
            string? reason = scanner.Reason;
            if (step == ScanStep.Record)
            {
                // LSNs are dense, with two deliberate exceptions: the record right after a region this scan skipped
                // (SkipAnyCorruptedRecord), and a record that directly follows the previous one (a hole an earlier skip
                // left, rebuilt into the log). Any other jump has bytes between the two records and is handled below:
                // LSNs never written past the commit point (a failed write while a later page reached the disk) are an
                // unacknowledged tail and are cut; anything else is damage.
                var jump = previous != 0 && scanner.Sequence > previous + 1;
                if (previous == 0 || scanner.Sequence == previous + 1
                    || (jump && (afterSkip || scanner.RecordAddress == result.EndAddress)))
                {
                    afterSkip = false;
                    if (previous == 0)
                    {
                        result.First = scanner.Sequence;
                        result.FirstAddress = scanner.RecordAddress;
                    }

                    previous = scanner.Sequence;
                    result.Count++;
                    result.Last = previous;
                    result.EndAddress = address;
                    _index.Add(previous, scanner.RecordAddress);
                    continue;
                }

                reason = $"sequence {scanner.Sequence} does not follow {previous}";
                address = scanner.RecordAddress;
                if (previous != 0 && scanner.Sequence > previous + 1 && commitPoint >= 0 && result.EndAddress >= commitPoint
                    && (proven || IsUnwritten(scanner, result.EndAddress, scanner.RecordAddress)))
                {
                    reason = $"LSNs {previous + 1}..{scanner.Sequence - 1} never reached the disk intact (after the last acknowledged commit at address {commitPoint})";
                    address = result.EndAddress;
                    uncommittedGap = true;
                }
            }
            else if (step == ScanStep.End)
            {
                if (end != long.MaxValue || address >= diskEnd || scanner.Resync(address, diskEnd) < 0)
                {
                    result.Keep.Add((rangeStart, address));
                    result.EndAddress = end != long.MaxValue ? address : Math.Max(from, scanner.EntryEnd);
                    return result;
                }

                reason = "the segment files have a gap";
            }

            // Damage at `address`: is there a valid record after it?
            var damage = address;
            reason ??= "unparseable entry";
            var resync = scanner.Resync(damage, searchEnd);
            var nextLsn = 0L;
            if (resync >= 0)
            {
                var probe = resync;
                scanner.Next(ref probe, end == long.MaxValue ? long.MaxValue : end);
                nextLsn = scanner.Sequence;
            }

            if (resync >= 0 && previous != 0 && nextLsn == previous + 1)
            {
                Log.BenignGap(_logger, damage, reason, nextLsn);
                result.Details.Add($"unparseable bytes at address {damage} ({reason}) before the expected LSN {nextLsn}; nothing lost");
                address = resync;
                continue;
            }

            var path = _reader.SegmentPath(damage);
            uncommittedGap |= proven && commitPoint >= 0 && damage >= commitPoint;
            if (resync < 0 || uncommittedGap || _options.RecoveryMode == WalRecoveryMode.PointInTime)
            {
                if (_options.RecoveryMode == WalRecoveryMode.AbsoluteConsistency)
                {
                    throw new WalCorruptionException(
                        $"Damaged WAL tail at address {damage} in '{path}' ({reason}) after LSN {previous}; refusing to open in AbsoluteConsistency mode.",
                        path, damage, new Lsn(previous));
                }

                result.Keep.Add((rangeStart, damage));
                result.EndAddress = damage;
                result.NeedsRebuild = true;
                var brokenEnd = end == long.MaxValue ? diskEnd : end;
                result.BrokenPath = SaveBroken(scanner, damage, brokenEnd, out var bytes);
                result.TailBytesCut = bytes;
                if (resync < 0 || uncommittedGap)
                {
                    Log.TailCut(_logger, damage, path, reason, previous, bytes, result.BrokenPath);
                    result.Details.Add($"cut a damaged tail at address {damage} in '{path}' ({reason}) after LSN {previous}");
                }
                else
                {
                    Log.PointInTimeCut(_logger, damage, path, reason, result.BrokenPath);
                    result.Details.Add($"point-in-time cut at address {damage} in '{path}' ({reason}) after LSN {previous}; valid records from LSN {nextLsn} dropped");
                }

                return result;
            }

            if (_options.RecoveryMode != WalRecoveryMode.SkipAnyCorruptedRecord)
            {
                throw new WalCorruptionException(
                    $"Damaged WAL record at address {damage} in '{path}' ({reason}) after LSN {previous}, followed by valid records from LSN {nextLsn}. "
                    + "Refusing to open; choose PointInTime or SkipAnyCorruptedRecord recovery to continue.",
                    path, damage, new Lsn(previous));
            }

            var missing = Math.Max(1, nextLsn - previous - 1);
            Log.RegionSkipped(_logger, damage, path, reason, missing, nextLsn);
            result.Details.Add($"skipped damage at address {damage} in '{path}' ({reason}); {missing} LSNs lost before LSN {nextLsn}");
            result.Skipped += missing;
            result.Keep.Add((rangeStart, damage));
            result.NeedsRebuild = true;
            rangeStart = resync;
            address = resync;
            afterSkip = true;
        }
    }

    private static bool IsUnwritten(LogScanner scanner, long from, long to)
    {
        if (to <= from || to - from > 64L << 20)
        {
            return false;
        }

        using var bytes = new MemoryStream((int)(to - from));
        scanner.CopyRaw(from, to, bytes);
        return bytes.Length == to - from && !bytes.GetBuffer().AsSpan(0, (int)bytes.Length).ContainsAnyExcept((byte)0);
    }

    private string SaveBroken(LogScanner scanner, long from, long to, out long bytes)
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMddTHHmmssfff", CultureInfo.InvariantCulture);
        var path = Path.Combine(_directory, $"wal-{from}-{stamp}.broken");
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            if (to > from)
            {
                scanner.CopyRaw(from, to, stream);
            }

            stream.Flush();
            bytes = stream.Length;
            NativeFileSync.Fsync(stream.SafeFileHandle, path);
        }

        NativeFileSync.FsyncDirectory(_directory);
        return path;
    }

    private void Rebuild(List<(long From, long To)> keep)
    {
        var target = Path.Combine(_directory, RebuildFolder);
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }

        Directory.CreateDirectory(target);
        using (var device = CreateDevice(target))
        using (var commits = CreateCommitManager(target))
        {
            using var log = new FasterLog(CreateSettings(device, commits));
            var scanner = new LogScanner(_reader, _options.PageSizeBits);
            foreach (var (from, to) in keep)
            {
                var address = from;
                while (scanner.Next(ref address, to) == ScanStep.Record)
                {
                    log.Enqueue(scanner.Frame.Span);
                }
            }

            log.Commit(spinWait: true);
        }

        var marker = Path.Combine(target, RebuildCompleteMarker);
        using (var handle = File.OpenHandle(marker, FileMode.Create, FileAccess.Write))
        {
            NativeFileSync.Fsync(handle, marker);
        }

        foreach (var commits in new[] { Path.Combine(target, "commits", "log-commits"), Path.Combine(target, "commits") })
        {
            if (Directory.Exists(commits))
            {
                NativeFileSync.FsyncDirectory(commits);
            }
        }

        NativeFileSync.FsyncDirectory(target);
        CloseFaster();
        CompletePendingRebuild();
        OpenFaster(out var error);
        if (error is not null)
        {
            throw new InvalidOperationException("FasterLog cannot recover the rebuilt WAL.", error);
        }
    }

    /// <summary>Finishes (or discards) a rebuild interrupted by a crash: a rebuild replaces the log only once complete.</summary>
    private void CompletePendingRebuild()
    {
        var rebuild = Path.Combine(_directory, RebuildFolder);
        var old = Path.Combine(_directory, OldFolder);
        if (Directory.Exists(rebuild))
        {
            if (File.Exists(Path.Combine(rebuild, RebuildCompleteMarker)))
            {
                if (Directory.Exists(_logDirectory))
                {
                    if (Directory.Exists(old))
                    {
                        Directory.Delete(old, recursive: true);
                    }

                    Directory.Move(_logDirectory, old);
                }

                Directory.Move(rebuild, _logDirectory);
                File.Delete(Path.Combine(_logDirectory, RebuildCompleteMarker));
                NativeFileSync.FsyncDirectory(_directory);
            }
            else
            {
                Directory.Delete(rebuild, recursive: true);
            }
        }

        if (Directory.Exists(old) && Directory.Exists(_logDirectory))
        {
            Directory.Delete(old, recursive: true);
            NativeFileSync.FsyncDirectory(_directory);
        }
    }

    private void LoadWatermarks(List<string> details)
    {
        var status = WatermarkCheckpoint.TryLoad(_directory, out var values, out var detail);
        if (status == WatermarkCheckpoint.LoadStatus.Corrupt)
        {
            Log.CheckpointCorrupt(_logger, detail!);
            details.Add($"watermark checkpoint ignored: {detail}");
            values = default;
        }

        _applied = values.Applied.Value;
        _audited = values.Audited.Value;
        _persisted = values;
    }

    private void CheckWatermarksAgainstLog(Validation result, List<string> details)
    {
        var watermark = Math.Max(_applied, _audited);
        if (watermark <= _lastLsn)
        {
            return;
        }

        if (_options.RecoveryMode is WalRecoveryMode.TolerateCorruptedTail or WalRecoveryMode.AbsoluteConsistency)
        {
            throw new WalCorruptionException(
                $"Data loss: the watermark checkpoint says LSN {watermark} was applied/audited but the WAL ends at LSN {_lastLsn}. "
                + "Refusing to open; choose PointInTime or SkipAnyCorruptedRecord recovery to continue after that LSN.",
                Path.Combine(_directory, WatermarkCheckpoint.FileName), result.EndAddress, new Lsn(_lastLsn));
        }

        Log.WatermarkAhead(_logger, watermark, _lastLsn);
        details.Add($"data loss: watermarks reach LSN {watermark} but the WAL ends at LSN {_lastLsn}; new LSNs continue after {watermark}");
        _lastLsn = watermark;
    }

    private void OpenFaster(out Exception? recoverError)
    {
        Directory.CreateDirectory(_logDirectory);
        _device = _deviceFactory?.Invoke(Path.Combine(_logDirectory, SegmentBaseName)) ?? CreateDevice(_logDirectory);
        _commitManager = CreateCommitManager(_logDirectory);
        _log = new FasterLog(CreateSettings(_device, _commitManager));
        _reader = new SegmentReader(Path.Combine(_logDirectory, SegmentBaseName), _options.SegmentSizeBits);
        recoverError = null;
        try
        {
            _log.Recover();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            recoverError = ex;
        }
    }

    private void CloseFaster()
    {
        _log?.Dispose();
        _commitManager?.Dispose();
        _device?.Dispose();
        _reader?.Dispose();
        _log = null!;
        _commitManager = null!;
        _device = null!;
        _reader = null!;
    }

    private static SegmentFileDevice CreateDevice(string directory) => new(Path.Combine(directory, SegmentBaseName));

    /// <summary>Commit metadata is written lazily (see <see cref="LazyLogCommitManager"/>); commit records in the log carry durability.</summary>
    private static LazyLogCommitManager CreateCommitManager(string directory) =>
        new(Path.Combine(directory, "commits"), CommitMetadataInterval);

    private FasterLogSettings CreateSettings(IDevice device, LazyLogCommitManager commitManager) => new()
    {
        LogDevice = device,
        PageSizeBits = _options.PageSizeBits,
        MemorySizeBits = _options.MemorySizeBits,
        SegmentSizeBits = _options.SegmentSizeBits,
        LogCommitManager = commitManager,
        LogChecksum = LogChecksumType.PerEntry,
        FastCommitMode = true,
        TryRecoverLatest = false,
        AutoCommit = false,
        AutoRefreshSafeTailAddress = false,
        TolerateDeviceFailure = false,
    };

    internal static List<(long Index, string Path, long Length)> ListSegments(string logDirectory)
    {
        var list = new List<(long, string, long)>();
        if (!Directory.Exists(logDirectory))
        {
            return list;
        }

        foreach (var file in Directory.EnumerateFiles(logDirectory, SegmentBaseName + ".*"))
        {
            var suffix = Path.GetFileName(file)[(SegmentBaseName.Length + 1)..];
            if (long.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                // FasterLog deletes truncated segments in the background: a file listed a moment ago may be gone.
                var info = new FileInfo(file);
                if (info.Exists)
                {
                    try
                    {
                        list.Add((index, file, info.Length));
                    }
                    catch (FileNotFoundException)
                    {
                    }
                }
            }
        }

        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }
}
