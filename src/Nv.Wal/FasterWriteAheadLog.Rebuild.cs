using System.Globalization;
using FASTER.core;
using Nv.Wal.IO;
using Nv.Wal.Recovery;

namespace Nv.Wal;

/// <summary>Replacing the log with a fresh copy of its valid records (after a cut, a skip, or a FasterLog recovery Nv
/// does not trust), so that a crash at any step converges and the original is deleted only after the copy verified.</summary>
/// <remarks>
/// Steps, each durable before the next: (1) the records to keep are copied into <c>log.rebuild</c> (fresh FasterLog
/// files, so no stale bytes can remain past the new tail); (2) the copy is verified where it lies: FasterLog recovers it
/// and Nv parses every entry of it, which must be exactly the records kept, in order; (3) the marker
/// <c>rebuild.complete</c> is written into it; (4) <c>log</c> is renamed to <c>log.old</c> and <c>log.rebuild</c> to
/// <c>log</c>; (5) the log is opened and validated again; (6) only when the whole open succeeded is <c>log.old</c>
/// deleted. A crash before (3) leaves the original in place and the next open discards the copy; a crash after it makes
/// the next open finish the renames (<see cref="CompletePendingRebuild"/>); <c>log.old</c> survives until an open has
/// verified the log that replaced it. A copy that fails verification is deleted and the open fails, the original untouched.
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
    private void Rebuild(Validation result)
    {
        var target = Path.Combine(_directory, RebuildFolder);
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }

        DurableDirectory.Create(target);
        var kept = new List<long>();
        using (var device = CreateDevice(target))
        using (var commits = CreateCommitManager(target))
        {
            using var log = new FasterLog(CreateSettings(device, commits));
            using var source = OpenSegmentReader();
            var scanner = new LogScanner(source, _options.PageSizeBits);
            foreach (var (from, to) in result.Keep)
            {
                var address = from;
                while (scanner.Next(ref address, to) == ScanStep.Record)
                {
                    log.Enqueue(scanner.Frame.Span);
                    kept.Add(scanner.Sequence);
                }
            }

            log.Commit(spinWait: true);
            if (commits.Failure is { } failure)
            {
                throw failure;
            }
        }

        SyncRebuildDirectories(target);
        _rebuildStep?.Invoke("rebuild-written");
        try
        {
            VerifyCopy(target, kept);
        }
        catch
        {
            Directory.Delete(target, recursive: true);
            NativeFileSync.FsyncDirectory(_directory);
            throw;
        }

        var marker = Path.Combine(target, RebuildCompleteMarker);
        using (var handle = File.OpenHandle(marker, FileMode.Create, FileAccess.Write))
        {
            NativeFileSync.Fsync(handle, marker);
        }

        NativeFileSync.FsyncDirectory(target);
        _repairCommitted = true; // a crash from here on swaps the copy in at the next open: what was saved aside stays
        _rebuildStep?.Invoke("rebuild-verified");
        CloseFaster();
        CompletePendingRebuild();
        OpenFaster(out var error);
        if (error is not null)
        {
            throw new InvalidOperationException(
                $"FasterLog cannot recover the rebuilt WAL; the original log is kept in '{Path.Combine(_directory, OldFolder)}'.", error);
        }
    }

    /// <summary>Checks a freshly written copy where it lies: FasterLog recovers it, and its entries are exactly <paramref name="expected"/>.</summary>
    private void VerifyCopy(string target, List<long> expected)
    {
        using var device = CreateDevice(target);
        using var commits = CreateCommitManager(target);
        using var log = new FasterLog(CreateSettings(device, commits));
        log.Recover();
        using var reader = new SegmentReader(Path.Combine(target, SegmentBaseName), _options.SegmentSizeBits);
        var scanner = new LogScanner(reader, _options.PageSizeBits);
        var address = log.BeginAddress;
        var end = log.CommittedUntilAddress;
        var index = 0;
        ScanStep step;
        while ((step = scanner.Next(ref address, end)) == ScanStep.Record)
        {
            if (index >= expected.Count || scanner.Sequence != expected[index])
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"The rebuilt WAL in '{target}' does not verify: record {index} is LSN {scanner.Sequence}, expected {(index < expected.Count ? expected[index] : 0)}; the original log is untouched."));
            }

            index++;
        }

        if (step != ScanStep.End || index != expected.Count)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The rebuilt WAL in '{target}' does not verify: {index} of {expected.Count} records readable ({scanner.Reason ?? "ends early"}); the original log is untouched."));
        }
    }

    private static void SyncRebuildDirectories(string target)
    {
        foreach (var directory in new[] { Path.Combine(target, "commits", "log-commits"), Path.Combine(target, "commits"), target })
        {
            if (Directory.Exists(directory))
            {
                NativeFileSync.FsyncDirectory(directory);
            }
        }
    }

    /// <summary>Finishes (or discards) a rebuild interrupted by a crash: a copy replaces the log only once it verified.</summary>
    private void CompletePendingRebuild()
    {
        var rebuild = Path.Combine(_directory, RebuildFolder);
        var old = Path.Combine(_directory, OldFolder);
        if (!Directory.Exists(rebuild))
        {
            return;
        }

        if (!File.Exists(Path.Combine(rebuild, RebuildCompleteMarker)))
        {
            // Never verified: the original log is intact and recovery starts over.
            Directory.Delete(rebuild, recursive: true);
            NativeFileSync.FsyncDirectory(_directory);
            return;
        }

        if (Directory.Exists(_logDirectory))
        {
            if (Directory.Exists(old))
            {
                // The original of an earlier rebuild whose replacement was never verified by an open: keep it too.
                var aside = $"{old}.{DateTime.UtcNow.ToString("yyyyMMddTHHmmssfff", CultureInfo.InvariantCulture)}";
                Directory.Move(old, aside);
            }

            Directory.Move(_logDirectory, old);
            NativeFileSync.FsyncDirectory(_directory);
            _rebuildStep?.Invoke("original-moved");
        }

        Directory.Move(rebuild, _logDirectory);
        NativeFileSync.FsyncDirectory(_directory);
        _rebuildStep?.Invoke("copy-moved");
        File.Delete(Path.Combine(_logDirectory, RebuildCompleteMarker));
        NativeFileSync.FsyncDirectory(_logDirectory);
    }

    /// <summary>A read-only open finishes no rebuild: an unverified copy is ignored (the original log is intact and is what
    /// it reads); a verified one, which a read-write open would swap in, refuses the open.</summary>
    private void CheckPendingRebuild(List<string> details)
    {
        var rebuild = Path.Combine(_directory, RebuildFolder);
        if (!Directory.Exists(rebuild))
        {
            return;
        }

        if (File.Exists(Path.Combine(rebuild, RebuildCompleteMarker)))
        {
            throw new InvalidOperationException(
                $"A rebuild of the WAL in {_directory} was interrupted after its copy '{rebuild}' verified; a read-only open cannot finish it. "
                + "Open the WAL read-write once (start the host or run nv replay), which swaps the copy in, then inspect it.");
        }

        details.Add($"an unfinished rebuild copy '{rebuild}' is ignored (a read-write open deletes it)");
    }

    /// <summary>Deletes the original log a rebuild replaced, once an open has verified its replacement.</summary>
    private void DeleteVerifiedOriginal()
    {
        var old = Path.Combine(_directory, OldFolder);
        if (Directory.Exists(old))
        {
            _rebuildStep?.Invoke("original-deleting");
            Directory.Delete(old, recursive: true);
            NativeFileSync.FsyncDirectory(_directory);
        }
    }
}
