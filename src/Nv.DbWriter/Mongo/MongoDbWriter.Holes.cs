using Nv.Wal;

namespace Nv.DbWriter.Mongo;

/// <summary>The WAL's holes. The watermark is the end of the contiguous run of final resolutions, so an LSN no record
/// will ever resolve would hold it for good: the WAL's truncation and every purge would stall and each boot would replay
/// from there. Such LSNs are the WAL's sanctioned jumps (records skipped by a recovery mode, an accepted loss of records
/// the store held: <c>Nv:Pipeline:AcceptStoreAheadOfWal</c>). The appliers pass every record the WAL holds in LSN
/// order (see <see cref="IDbWriter.ApplyAsync"/>), so an LSN a batch skips, between two of its records or between the
/// highest LSN passed before (or the watermark) and its first, is one; the walk passes it. A pending outcome inside such
/// a hole (its record lost with the WAL) stays invisible and is purged with the resolutions below the watermark.</summary>
/// <remarks>Nothing is stored: after a crash the boot replay starts at the stored watermark and passes the record after
/// the hole again, which teaches the hole again.</remarks>
internal sealed partial class MongoDbWriter
{
    private void NoteHoles(IReadOnlyList<WalRecord> batch)
    {
        var previous = Math.Max(_resolvedThrough, _highestPassed);
        foreach (var record in batch)
        {
            var lsn = record.Lsn.Value;
            if (lsn > previous + 1)
            {
                _holes.Add((previous, lsn));
                _logger.MongoWalHole(previous + 1, lsn - 1);
            }

            previous = Math.Max(previous, lsn);
        }

        _highestPassed = previous;
    }

    /// <summary>Whether a resolution at <paramref name="lsn"/> may move the watermark.</summary>
    private bool MayAdvanceAt(long lsn) => lsn == _resolvedThrough + 1 || _holes.Count > 0;

    /// <summary>The end of the holes that start at or before <paramref name="next"/> + 1.</summary>
    private long PastHoles(long next)
    {
        for (var moved = true; moved;)
        {
            moved = false;
            foreach (var (after, following) in _holes)
            {
                if (after <= next && following - 1 > next)
                {
                    next = following - 1;
                    moved = true;
                }
            }
        }

        return next;
    }

    private void DropHolesThrough(long watermark) => _holes.RemoveAll(hole => hole.Next - 1 <= watermark);
}
