using System.Globalization;
using Nv.Wal.IO;
using Nv.Wal.Recovery;

namespace Nv.Wal;

/// <summary>Recovery's verification of the segment files: every frame, CRC and LSN, and what to do with damage.</summary>
/// <remarks>
/// Failure policy: only bytes past the durable point may be cut. Damage in bytes a completed commit covered
/// (<see cref="CommitEvidence"/>: FasterLog's commit metadata, or a commit record after the damage with no hole between)
/// refuses to open in the default <see cref="WalRecoveryMode.TolerateCorruptedTail"/> mode, naming the file, the offset
/// and the ways forward; only <see cref="WalRecoveryMode.PointInTime"/> and <see cref="WalRecoveryMode.SkipAnyCorruptedRecord"/>,
/// chosen by an operator, drop acknowledged records (logged as critical). A damaged tail past every completed commit (a
/// torn or unfinished write) is cut after its bytes were saved aside (<c>*.broken</c>). An intact record (or frame) that only a
/// newer Nv writes is never damage: the open is refused in every mode (<see cref="WalFormatTooNewException"/>).
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
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

        /// <summary>LSN jumps this validation accepted that the jump list does not hold yet: holes a skip leaves, and
        /// adjacent jumps of a log from before the list existed.</summary>
        public List<(long After, long Next)> Jumps { get; } = [];

        /// <summary>Every file damaged bytes were saved to (skipped regions and the cut tail), in log order.</summary>
        public List<string> Saved { get; } = [];

        public bool NeedsRebuild { get; set; }

        public List<(long From, long To)> Keep { get; } = [];

        public List<string> Details { get; } = [];
    }

    // LSNs must be dense: a missing LSN is damage. When the missing records' bytes never landed (zeros: a failed or torn
    // write, e.g. EIO/ENOSPC while later pages still reached the disk) past the commit metadata's address, nothing from
    // there on was ever acknowledged (a flush completes only when every earlier byte is written): that is a damaged tail,
    // cut and saved aside. evidence is null when verifying a freshly rebuilt log (nothing may be damaged there).
    private Validation Validate(long from, long end, long diskEnd, CommitEvidence? evidence)
    {
        var uncommittedGap = false;
        var afterSkip = false;
        _index.Clear();
        var result = new Validation { FirstAddress = from, EndAddress = from };
        using var reader = OpenSegmentReader();
        var scanner = new LogScanner(reader, _options.PageSizeBits);
        var address = from;
        var rangeStart = from;
        var previous = 0L;
        var searchEnd = end == long.MaxValue ? diskEnd : end;
        var metadataPoint = evidence?.MetadataPoint ?? -1;
        while (true)
        {
            var step = scanner.Next(ref address, end);
            string? reason = scanner.Reason;
            if (step == ScanStep.Record)
            {
                RefuseNewerRecord(scanner);

                // LSNs are dense, except for the jumps the jump list sanctions (ContinueAfterAsync, an earlier skip) and
                // the record right after a region this scan skipped (SkipAnyCorruptedRecord; recorded in the list). A log
                // written before the list existed also accepted a jump between adjacent records (how a skip rebuilt its
                // holes): accepted once and recorded. Any other jump is handled below: LSNs never written past the commit
                // point (a failed write while a later page reached the disk) are an unacknowledged tail and are cut;
                // anything else is damage.
                var jump = previous != 0 && scanner.Sequence > previous + 1;
                var recorded = jump && _jumps.Allows(previous, scanner.Sequence);
                var accepted = recorded || (jump && (afterSkip || (_jumps.Legacy && scanner.RecordAddress == result.EndAddress)));
                if (previous == 0 || scanner.Sequence == previous + 1 || accepted)
                {
                    if (jump && !recorded)
                    {
                        result.Jumps.Add((previous, scanner.Sequence));
                    }

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

                reason = $"LSN {scanner.Sequence} does not follow LSN {previous} and no recorded jump allows it";
                address = scanner.RecordAddress;

                // The missing records lay between the last entry before this record and this record. That last entry may be
                // a FasterLog commit record after the last Nv record: a truncation's commit writes the metadata exactly at
                // its end, so the region starts there, not at the end of the last Nv record. FasterLog writes the pages of
                // one flush concurrently (the rest of a partially written page waits for the write before it; a page that
                // starts the range is written at once), so a crash can leave a later page, even its commit record, on disk
                // while the end of the earlier page never landed: zeros there mean that commit never completed.
                var gapStart = scanner.PrecedingEntryEnd >= result.EndAddress && scanner.PrecedingEntryEnd <= scanner.RecordAddress
                    ? scanner.PrecedingEntryEnd
                    : result.EndAddress;
                if (jump && metadataPoint >= 0 && gapStart >= metadataPoint
                    && evidence!.HasHole(gapStart, scanner.RecordAddress))
                {
                    reason = $"LSNs {previous + 1}..{scanner.Sequence - 1} were never written (bytes that never landed after the last commit metadata at address {metadataPoint})";
                    address = result.EndAddress;
                    uncommittedGap = true;
                }
            }
            else if (step == ScanStep.End)
            {
                if (end != long.MaxValue || address >= diskEnd || scanner.Resync(address, diskEnd) < 0)
                {
                    var clean = end != long.MaxValue ? address : Math.Max(from, scanner.EntryEnd);
                    var stale = end == long.MaxValue && evidence is not null ? evidence.FirstNonZero(clean, diskEnd) : -1;
                    if (stale < 0)
                    {
                        result.Keep.Add((rangeStart, address));
                        result.EndAddress = clean;
                        return result;
                    }

                    // Bytes after the last entry: an unfinished write (or bytes an earlier recovery left past the tail).
                    // FasterLog would append over them, leaving stale bytes after a later tail: cut them now.
                    reason = $"non-zero bytes at address {stale} after the last entry";
                    address = clean;
                }
                else
                {
                    reason = "the segment files have a gap";
                }
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

            var path = SegmentPath(damage);

            // Acknowledged: a completed commit covers the damaged bytes. Unfinished: valid records follow bytes that never
            // landed past the commit metadata's address, so their commit never completed either.
            var durableEnd = uncommittedGap || evidence is null ? -1 : evidence.AcknowledgedPast(damage, diskEnd);
            var acknowledged = durableEnd > damage;
            var unfinished = uncommittedGap
                || (!acknowledged && resync >= 0 && metadataPoint >= 0 && damage >= metadataPoint && evidence!.HasHole(damage, resync));
            if (acknowledged && _options.RecoveryMode is WalRecoveryMode.TolerateCorruptedTail or WalRecoveryMode.AbsoluteConsistency)
            {
                var following = resync >= 0 ? $", followed by valid records from LSN {nextLsn}" : "";
                throw new WalCorruptionException(
                    $"Damaged WAL record at address {damage} ({Where(damage, path)}; {reason}) after LSN {previous}{following}, below the durable "
                    + $"point (address {durableEnd}): the records there were acknowledged, so recovery will not cut them. Refusing to open. {WaysForward}",
                    path, damage, new Lsn(previous));
            }

            if (resync < 0 || unfinished || _options.RecoveryMode == WalRecoveryMode.PointInTime)
            {
                if (_options.RecoveryMode == WalRecoveryMode.AbsoluteConsistency)
                {
                    throw new WalCorruptionException(
                        $"Damaged WAL tail at address {damage} ({Where(damage, path)}; {reason}) after LSN {previous}; refusing to open in AbsoluteConsistency mode. {WaysForward}",
                        path, damage, new Lsn(previous));
                }

                result.Keep.Add((rangeStart, damage));
                result.EndAddress = damage;
                result.NeedsRebuild = true;
                result.BrokenPath = SaveBroken(scanner, damage, Math.Max(searchEnd, diskEnd), out var bytes,
                    string.Create(CultureInfo.InvariantCulture, $"cut the log at address {damage} of '{path}' ({reason}), saving the bytes it cuts and rebuilding the log"));
                if (result.BrokenPath is not null)
                {
                    result.Saved.Add(result.BrokenPath);
                }

                result.TailBytesCut = bytes;
                if (_readOnly)
                {
                    // Nothing is cut: the reason is reported once the scan ends (FasterWriteAheadLog.Recovery.cs).
                    result.Details.Add($"damage at address {damage} in '{path}' ({reason}) after LSN {previous}: a read-write open in {_options.RecoveryMode} mode would cut {bytes} bytes there"
                        + (acknowledged ? $" (acknowledged records: durable up to address {durableEnd})" : ""));
                }
                else if (acknowledged)
                {
                    Log.AcknowledgedCut(_logger, damage, path, reason, previous, durableEnd, _options.RecoveryMode, result.BrokenPath!);
                    result.Details.Add($"{_options.RecoveryMode} cut acknowledged records at address {damage} in '{path}' ({reason}) after LSN {previous} (durable up to address {durableEnd})");
                }
                else if (resync < 0 || unfinished)
                {
                    Log.TailCut(_logger, damage, path, reason, previous, bytes, result.BrokenPath!);
                    result.Details.Add($"cut a damaged tail at address {damage} in '{path}' ({reason}) after LSN {previous}");
                }
                else
                {
                    Log.PointInTimeCut(_logger, damage, path, reason, result.BrokenPath!);
                    result.Details.Add($"point-in-time cut at address {damage} in '{path}' ({reason}) after LSN {previous}; valid records from LSN {nextLsn} dropped");
                }

                return result;
            }

            if (_options.RecoveryMode != WalRecoveryMode.SkipAnyCorruptedRecord)
            {
                throw new WalCorruptionException(
                    $"Damaged WAL record at address {damage} ({Where(damage, path)}; {reason}) after LSN {previous}, followed by valid records from LSN {nextLsn}. "
                    + $"Refusing to open. {WaysForward}",
                    path, damage, new Lsn(previous));
            }

            var missing = Math.Max(1, nextLsn - previous - 1);
            if (SaveBroken(scanner, damage, resync, out _,
                string.Create(CultureInfo.InvariantCulture, $"skip damaged bytes at address {damage} of '{path}' ({reason}), saving them and rebuilding the log")) is { } saved)
            {
                result.Saved.Add(saved);
                Log.RegionSkipped(_logger, damage, path, reason, missing, nextLsn, saved);
                result.Details.Add($"skipped damage at address {damage} in '{path}' ({reason}); {missing} LSNs lost before LSN {nextLsn}; saved to '{saved}'");
            }
            else
            {
                result.Details.Add($"damage at address {damage} in '{path}' ({reason}): a read-write open in {_options.RecoveryMode} mode would skip it ({missing} LSNs lost before LSN {nextLsn}); reads stop there");
            }

            result.Skipped += missing;
            result.Keep.Add((rangeStart, damage));
            result.NeedsRebuild = true;
            rangeStart = resync;
            address = resync;
            afterSkip = true;
        }
    }

    // A record an older build cannot read (flags, a batch kind or a payload envelope only a newer Nv writes) is refused with
    // the log as it is, in every recovery mode: it is intact, so never damage to cut or skip, and opening past it would take
    // appends after records no reader here decodes. (A frame format only a newer Nv writes: LogScanner.Next.)
    private void RefuseNewerRecord(LogScanner scanner)
    {
        var frame = scanner.Frame.Span;
        if (Framing.WalRecordCodec.NewerFeature(frame[Framing.WalFrame.HeaderSize..], Framing.WalFrame.FormatOf(frame)) is var (found, supported))
        {
            throw new WalFormatTooNewException(SegmentPath(scanner.RecordAddress),
                string.Create(CultureInfo.InvariantCulture, $"{found}, LSN {scanner.Sequence} at address {scanner.RecordAddress}"), supported);
        }
    }

    /// <summary>What an operator can do about damage recovery refuses to cut.</summary>
    private string WaysForward =>
        $"Ways forward: keep a copy of '{_directory}'; with the host stopped, run `nv wal verify` to see the damage; restore the WAL from a copy "
        + "if you have one; or accept losing records by starting the host (or running nv replay) once with Nv:Wal:RecoveryMode (environment Nv__Wal__RecoveryMode) set to "
        + "PointInTime (cut at the damage, keep every record before it) or SkipAnyCorruptedRecord (skip only the damaged bytes); what they "
        + "drop is saved as *.broken.";

    private string Where(long address, string path) =>
        string.Create(CultureInfo.InvariantCulture, $"offset {address & ((1L << _options.SegmentSizeBits) - 1)} of '{path}'");

    // A read-only open saves nothing: it counts the bytes a read-write open would save (null path). A read-write open first
    // makes sure the whole repair fits (FasterWriteAheadLog.RepairSpace.cs), and deletes a file it could not finish.
    private string? SaveBroken(LogScanner scanner, long from, long to, out long bytes, string repair)
    {
        using (var counter = new ByteCounter())
        {
            if (to > from)
            {
                scanner.CopyRaw(from, to, counter);
            }

            bytes = counter.Length;
        }

        if (_readOnly)
        {
            return null;
        }

        EnsureRoomForRepair(bytes, repair);
        var stamp = DateTime.UtcNow.ToString("yyyyMMddTHHmmssfff", CultureInfo.InvariantCulture);
        var path = Path.Combine(_directory, $"wal-{from}-{stamp}.broken");
        _repairFiles.Add(path);
        try
        {
            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                if (to > from)
                {
                    scanner.CopyRaw(from, to, stream);
                }

                stream.Flush();
                NativeFileSync.Fsync(stream.SafeFileHandle, path);
            }

            NativeFileSync.FsyncDirectory(_directory);
        }
        catch (IOException ex)
        {
            TryDelete(path);
            throw new IOException(
                $"Recovery could not save {MiB(bytes)} of damaged bytes to '{path}' before it would {repair} ({ex.Message.Trim().TrimEnd('.')}); "
                + "nothing was cut and the partial file was deleted: free space there (or move the WAL directory to a larger disk), then start again.", ex);
        }

        return path;
    }

    /// <summary>A write-only stream that only counts what is written to it.</summary>
    private sealed class ByteCounter : Stream
    {
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => _length += count;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
