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
/// end instead, and must still reach the committed address its commit metadata names, if any (bytes below it were
/// acknowledged). Damage handling follows <see cref="WalOptions.RecoveryMode"/>, and never cuts below the durable point
/// unless the operator chose a mode that does (FasterWriteAheadLog.Validation.cs); whenever records must be dropped the
/// valid records are copied into a fresh FasterLog (<c>log.rebuild</c>), which replaces <c>log</c> only after it
/// verified (FasterWriteAheadLog.Rebuild.cs), after the damaged bytes were saved to a <c>*.broken</c> file. Rebuilding
/// (rather than moving FasterLog's tail back) also guarantees no stale bytes remain past the new tail. LSN jumps are
/// accepted only where <see cref="LsnJumps"/> records them.
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
    internal const string LogFolder = "log";
    private const string SegmentBaseName = "nv.log";
    private const string RebuildFolder = "log.rebuild";
    private const string OldFolder = "log.old";
    private const string RebuildCompleteMarker = "rebuild.complete";
    private static readonly TimeSpan CommitMetadataInterval = TimeSpan.FromMilliseconds(100);
    private long _syncedSegment = -1;
    private LazyLogCommitManager _commitManager = null!;

    private WalRecoveryReport Recover()
    {
        var stopwatch = Stopwatch.StartNew();
        var details = new List<string>();
        if (_readOnly)
        {
            CheckPendingRebuild(details);
        }
        else
        {
            CompletePendingRebuild();
        }

        if (Directory.Exists(Path.Combine(_directory, OldFolder)))
        {
            Log.OriginalKept(_logger, Path.Combine(_directory, OldFolder));
        }

        var watermarks = LoadWatermarks(details);
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
            _jumps = LsnJumps.Load(_directory, logExists: segments.Count > 0);

            // Commit metadata is written lazily, so FasterLog's committed address usually comes from its forward scan for
            // commit records, which stops silently at the first damaged entry. Nv therefore always parses the files to
            // their end and compares where the entries really end with what FasterLog recovered.
            Validation result;
            using (var evidenceReader = OpenSegmentReader())
            {
                var evidence = new CommitEvidence(evidenceReader, _options.PageSizeBits, ReadMetadataCommitPoint());
                result = Validate(from, long.MaxValue, diskEnd, evidence);
                if (fasterEmpty && evidence.MetadataPoint > from)
                {
                    // FasterLog failed (or came back empty) but its commit metadata names an acknowledged address: the files
                    // must reach it, as they must reach FasterLog's committed address otherwise.
                    end = evidence.MetadataPoint;
                }

                if (end != long.MaxValue && !result.NeedsRebuild && result.EndAddress < end)
                {
                    // The files end before the committed address: the exact check reports that as damage.
                    result = Validate(from, end, diskEnd, evidence);
                }
                else if (!fasterEmpty && !result.NeedsRebuild && result.EndAddress > end)
                {
                    // Intact entries past the last commit (a page flushed before its commit record): never acknowledged, but
                    // valid and in sequence. They are kept, and the log is rebuilt so FasterLog's tail covers them (new appends
                    // must never land below bytes that parse as records).
                    result.Details.Add($"{result.EndAddress - end} bytes of intact entries after FasterLog's committed address {end} kept (never acknowledged)");
                    result.NeedsRebuild = true;
                }
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
                            SegmentPath(from), committed, Lsn.None, recoverError);
                    }

                    Log.FasterRecoveredShort(_logger, committed, reason, result.Count);
                    result.Details.Add($"FasterLog recovered an empty log (error: {reason}) over {result.Count} valid records; rebuilt from the segment files");
                }

                result.NeedsRebuild = true;
            }

            // Jumps this recovery accepts for the first time (records a skip left out, or a log from before the jump list
            // existed) are recorded before any rebuild makes them part of the log; a new log gets its (empty) list. A
            // read-only open keeps them in memory only.
            if (result.Jumps.Count > 0 || !File.Exists(Path.Combine(_directory, LsnJumps.FileName)))
            {
                var jumps = _jumps;
                foreach (var (after, next) in result.Jumps)
                {
                    jumps = jumps.With(after, next);
                }

                if (!_readOnly)
                {
                    jumps.Save(_directory);
                }

                _jumps = jumps;
            }

            if (result.NeedsRebuild && _readOnly)
            {
                // Reads go straight to the segment files and stop at the durable point below (never past the damage), so
                // the valid records are served as they lie; a read-write open repairs the log.
                Log.ReadOnlyNotRepaired(_logger, _directory, string.Join("; ", result.Details));
                result.Details.Add("read-only open: nothing was cut, saved aside or rebuilt (a read-write open would)");
            }
            else if (result.NeedsRebuild)
            {
                EnsureRoomForRepair(0, "rebuild the log, copying the records it keeps into a fresh log");
                Rebuild(result);
                var rebuilt = Validate(_log.BeginAddress, _log.CommittedUntilAddress, 0, null);
                if (rebuilt.NeedsRebuild || rebuilt.Count != result.Count)
                {
                    throw new InvalidOperationException(
                        $"The rebuilt WAL does not verify after the swap ({rebuilt.Count} records, expected {result.Count}); the original log is kept in '{Path.Combine(_directory, OldFolder)}'.");
                }

                Log.Rebuilt(_logger, rebuilt.Count, rebuilt.First, rebuilt.Last);
                rebuilt.Details.InsertRange(0, result.Details);
                rebuilt.Skipped = result.Skipped;
                rebuilt.TailBytesCut = result.TailBytesCut;
                rebuilt.BrokenPath = result.BrokenPath;
                rebuilt.Saved.AddRange(result.Saved);
                result = rebuilt;
            }

            details.AddRange(result.Details);
            if (watermarks == WatermarkCheckpoint.LoadStatus.Missing && result.Count > 0)
            {
                var checkpoint = Path.Combine(_directory, WatermarkCheckpoint.FileName);
                Log.CheckpointMissing(_logger, checkpoint);
                details.Add($"watermark checkpoint '{checkpoint}' missing; watermarks start at 0");
            }

            _firstLsn = result.First;
            _firstAddress = result.Count > 0 ? result.FirstAddress : _log.BeginAddress;
            _lastRecordLsn = result.Last;
            _lastLsn = Math.Max(result.Last, _jumps.Floor);
            if (_lastLsn > result.Last)
            {
                details.Add($"LSNs continue after {_lastLsn} (a recorded jump; the last record is LSN {result.Last})");
            }

            CheckWatermarksAgainstLog(result, details);
            _durable = new DurablePoint(_lastLsn, result.Count > 0 ? result.EndAddress : _log.CommittedUntilAddress);
            if (!_readOnly)
            {
                // FasterLog never fsyncs directories. The tail segment may have been created by a run that crashed before
                // its flush fsynced the directory (or not exist yet in a new log): make the entries durable now, and let the
                // first flush fsync again when FasterLog has yet to create the tail segment's file.
                NativeFileSync.FsyncDirectory(_logDirectory);
                NativeFileSync.FsyncDirectory(_directory);
                var tailSegment = _log.TailAddress >> _options.SegmentSizeBits;
                _syncedSegment = File.Exists($"{Path.Combine(_logDirectory, SegmentBaseName)}.{tailSegment}") ? tailSegment : tailSegment - 1;

                DeleteVerifiedOriginal();
            }

            ThrowIfAWriterCameDuringALocklessRead();
            var report = new WalRecoveryReport
            {
                BrokenPaths = [.. result.Saved],
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
            if (!_repairCommitted)
            {
                DiscardFailedRepair(_repairFiles);
            }

            throw;
        }
    }

    // A read-only open of a directory without a lock file (a copied log) reads without the lock: it creates nothing there.
    // A process that opens the same directory for writing meanwhile (a host started on the copy) creates nv.lock before it
    // touches anything, and may then cut, rebuild or remove what this recovery is reading, so the report could describe a
    // log that never existed. So a lock file that appeared is refused rather than trusted: at the end of the recovery, and
    // at the end of every read (and before a read reports damage), since each read opens the segments by name again.
    private void ThrowIfAWriterCameDuringALocklessRead()
    {
        var lockFile = Path.Combine(_directory, DirectoryLock.FileName);
        if (_readOnly && _directoryLock is null && File.Exists(lockFile))
        {
            throw new WalLockedException(
                $"The WAL directory {_directory} had no lock file, and a process opened it for writing while it was being read read-only (it created "
                + $"{lockFile}): what was read may be half-changed. Stop that process (or read a copy no process opens), then run again.");
        }
    }

    /// <summary>Loads the watermarks; a missing, unreadable or corrupt checkpoint never stops the open (they start at 0).</summary>
    /// <exception cref="WalFormatTooNewException">The checkpoint is intact and of a version only a newer Nv writes: this build
    /// would ignore it and replace it with its own.</exception>
    private WatermarkCheckpoint.LoadStatus LoadWatermarks(List<string> details)
    {
        var status = WatermarkCheckpoint.TryLoad(_directory, out var values, out var detail);
        if (status == WatermarkCheckpoint.LoadStatus.Newer)
        {
            throw new WalFormatTooNewException(Path.Combine(_directory, WatermarkCheckpoint.FileName), $"watermark checkpoint {detail}",
                "watermark checkpoint version 1");
        }

        if (status == WatermarkCheckpoint.LoadStatus.Corrupt)
        {
            Log.CheckpointCorrupt(_logger, detail!);
            details.Add($"watermark checkpoint ignored: {detail}");
            values = default;
        }

        _applied = values.Applied.Value;
        _audited = values.Audited.Value;
        _persisted = values;
        return status;
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
        var jumps = _jumps.With(_lastRecordLsn, watermark + 1);
        if (!_readOnly)
        {
            jumps.Save(_directory);
        }

        _jumps = jumps;
        _lastLsn = watermark;
    }

    /// <summary>The committed address in the newest readable FasterLog commit metadata, or -1 when there is none.</summary>
    /// <remarks>Metadata is written only after the commit it describes completed, so every byte below this address was
    /// acknowledged (FasterLog's recovered address may be higher: it also scans the log for later commit records).</remarks>
    private long ReadMetadataCommitPoint()
    {
        foreach (var commitNum in _commitManager.ListCommits())
        {
            try
            {
                var info = new FasterLogRecoveryInfo();
                using var reader = new BinaryReader(new MemoryStream(_commitManager.GetCommitMetadata(commitNum)));
                info.Initialize(reader);
                return info.UntilAddress;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Unreadable metadata is no evidence; FasterLog skipped it the same way.
            }
        }

        return -1;
    }

    private void OpenFaster(out Exception? recoverError)
    {
        if (!_readOnly)
        {
            DurableDirectory.Create(_logDirectory);
        }

        _device = _deviceFactory?.Invoke(Path.Combine(_logDirectory, SegmentBaseName)) ?? CreateDevice(_logDirectory, _readOnly);
        _commitManager = CreateCommitManager(_logDirectory, ex => Fault(ex), _readOnly);
        _log = new FasterLog(CreateSettings(_device, _commitManager));
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
        _log = null!;
        _commitManager = null!;
        _device = null!;
    }

    /// <summary>A reader of the live log's segment files for one scan (dispose it when the scan ends: it holds a file open).</summary>
    private SegmentReader OpenSegmentReader() => new(Path.Combine(_logDirectory, SegmentBaseName), _options.SegmentSizeBits);

    private string SegmentPath(long address) => $"{Path.Combine(_logDirectory, SegmentBaseName)}.{address >> _options.SegmentSizeBits}";

    private static SegmentFileDevice CreateDevice(string directory, bool readOnly = false) => new(Path.Combine(directory, SegmentBaseName), readOnly);

    /// <summary>Commit metadata is written lazily (see <see cref="LazyLogCommitManager"/>); commit records in the log carry durability.</summary>
    /// <param name="directory">The log's directory.</param>
    /// <param name="onWriteError">Told about a failed metadata write (the live log faults); null where the caller checks
    /// <see cref="LazyLogCommitManager.Failure"/> itself.</param>
    /// <param name="readOnly">A read-only open: metadata is only read.</param>
    private static LazyLogCommitManager CreateCommitManager(string directory, Action<Exception>? onWriteError = null, bool readOnly = false) =>
        new(Path.Combine(directory, "commits"), CommitMetadataInterval, onWriteError, readOnly);

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
