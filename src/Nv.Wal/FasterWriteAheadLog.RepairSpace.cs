using System.Globalization;

namespace Nv.Wal;

/// <summary>Room for recovery's repairs: saving damaged bytes aside (<c>*.broken</c>) and rebuilding the log into a copy.</summary>
/// <remarks>
/// Failure policy: a repair that cannot fit is refused before anything is written, with one line saying how much room it
/// needs and where; the log is left as it was, for the next open once there is room. On a still-full disk (the usual case
/// after a WAL faulted with ENOSPC) the saved bytes failed midway and left an empty <c>*.broken</c> file at every attempt.
/// Should the disk fill up anyway while a repair writes (another process), what this open saved or copied is deleted
/// again: the original log is intact and the next open saves it afresh.
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
    // What a repair writes beyond the bytes it copies: the copy's FasterLog commit metadata and partial last sectors.
    private const long RepairMargin = 1L << 20;

    /// <summary>Refuses a repair that would not fit: <paramref name="saveBytes"/> saved aside now, then a copy of the log
    /// (the records kept: at most the log's segment files).</summary>
    /// <exception cref="IOException">Not enough free space; nothing was written.</exception>
    private void EnsureRoomForRepair(long saveBytes, string repair)
    {
        if (_readOnly)
        {
            return; // saves and copies nothing
        }

        var copy = ListSegments(_logDirectory).Sum(static s => s.Length);
        var needed = saveBytes + copy + RepairMargin;
        var free = _freeSpace?.Invoke() ?? new DriveInfo(_directory).AvailableFreeSpace;
        if (free >= needed)
        {
            return;
        }

        throw new IOException(
            $"Recovery must {repair}, which needs about {MiB(needed)} free on the file system of '{_directory}' ({MiB(saveBytes)} "
            + $"saved aside as *.broken and a copy of the {MiB(copy)} log); only {MiB(free)} are free. Nothing was changed: free "
            + "space there (or move the WAL directory to a larger disk), then start again.");
    }

    // Deletes what a repair that failed before its copy replaced the log wrote: the original log is intact, so these are
    // redundant (the next open saves the same bytes again), and on a full disk they only hold the space it needs.
    private void DiscardFailedRepair(IEnumerable<string> saved)
    {
        foreach (var path in saved)
        {
            TryDelete(path);
        }

        var copy = Path.Combine(_directory, RebuildFolder);
        if (Directory.Exists(copy) && !File.Exists(Path.Combine(copy, RebuildCompleteMarker)))
        {
            try
            {
                Directory.Delete(copy, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The next open deletes an unverified copy before anything else (CompletePendingRebuild).
            }
        }

        try
        {
            IO.NativeFileSync.FsyncDirectory(_directory);
        }
        catch (IOException)
        {
            // Best effort: deleting redundant files needs no durability.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.0} MiB");
}
