using System.Runtime.CompilerServices;
using Nv.Wal.Framing;
using Nv.Wal.Recovery;

namespace Nv.Wal;

/// <summary>Reading durable records straight from the segment files.</summary>
/// <remarks>
/// Every record returned passed its frame, CRC and sequence checks; LSNs must strictly increase. Unparseable bytes
/// are tolerated only when the very next valid record carries the expected next LSN (nothing is lost, e.g. stale
/// padding); anything else throws <see cref="WalCorruptionException"/>, so a damaged record is never returned and
/// never silently skipped (unlike FasterLog's iterator after a checksum error).
/// <para>A truncation may delete segments under a read. The read keeps its own handle on the segment it is reading (an
/// open file stays readable after it is deleted, and its bytes never change), so it returns the records it can still
/// read; where it needs a segment that is gone, it throws <see cref="WalTruncatedException"/> naming the next LSN it would
/// have returned, never <see cref="WalCorruptionException"/> (which a change-feed consumer would get as a 500 instead
/// of a 410).</para>
/// </remarks>
internal sealed partial class FasterWriteAheadLog
{
    public async IAsyncEnumerable<WalRecord> ReadAsync(Lsn from, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(State == WalState.Disposed, this);
        var durable = Volatile.Read(ref _durable);
        long first;
        long firstAddress;
        lock (_appendLock)
        {
            first = _firstLsn;
            firstAddress = _firstAddress;
        }

        if (from.Value > 0 && first > 0 && from.Value < first)
        {
            throw new WalTruncatedException(from, new Lsn(first));
        }

        var floor = _jumps.Floor;
        if (first == 0 && from.Value > 0 && from.Value <= floor)
        {
            // An empty log that continues above LSNs it never held (ContinueAfterAsync).
            throw new WalTruncatedException(from, new Lsn(floor + 1));
        }

        var wanted = Math.Max(from.Value, first);
        if (first == 0 || wanted > durable.Lsn)
        {
            yield break;
        }

        var (expected, address) = ScanStart(wanted, first, firstAddress);
        await Task.Yield();
        using var reader = OpenSegmentReader();
        var scanner = new LogScanner(reader, _options.PageSizeBits);
        var previous = expected - 1;
        var checkExact = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = scanner.Next(ref address, durable.Address);
            if (step == ScanStep.End)
            {
                ThrowIfAWriterCameDuringALocklessRead();
                yield break;
            }

            if (step == ScanStep.Damage)
            {
                var next = Math.Max(previous + 1, wanted);
                var held = HeldStart();
                if (previous + 1 < held.Lsn)
                {
                    // A truncation deleted the segment this read needed next (it reads as missing).
                    if (next < held.Lsn)
                    {
                        throw new WalTruncatedException(new Lsn(next), new Lsn(held.Lsn));
                    }

                    // Still on its way to the first wanted record, which is held: start again from the log's new start.
                    (expected, address) = ScanStart(wanted, held.Lsn, held.Address);
                    scanner.Invalidate();
                    previous = expected - 1;
                    checkExact = true;
                    continue;
                }

                var damage = address;
                var resync = scanner.Resync(damage, durable.Address);
                var probe = resync;
                if (resync < 0 || scanner.Next(ref probe, durable.Address) != ScanStep.Record || scanner.Sequence != previous + 1)
                {
                    held = HeldStart();
                    if (next < held.Lsn)
                    {
                        throw new WalTruncatedException(new Lsn(next), new Lsn(held.Lsn)); // truncated while this read resynced
                    }

                    ThrowIfAWriterCameDuringALocklessRead();
                    throw new WalCorruptionException(
                        $"Damaged WAL record at address {damage} ({scanner.Reason}) after LSN {previous}.",
                        SegmentPath(damage), damage, new Lsn(previous));
                }

                Log.BenignGap(_logger, damage, scanner.Reason ?? "unknown", previous + 1);
                address = resync;
                continue;
            }

            var sequence = scanner.Sequence;
            if ((checkExact && sequence != expected) || sequence <= previous)
            {
                ThrowIfAWriterCameDuringALocklessRead();
                throw new WalCorruptionException(
                    $"WAL sequence out of order at address {scanner.RecordAddress}: LSN {sequence} after LSN {previous}.",
                    SegmentPath(scanner.RecordAddress), scanner.RecordAddress, new Lsn(previous));
            }

            checkExact = false;
            previous = sequence;
            if (sequence > durable.Lsn)
            {
                ThrowIfAWriterCameDuringALocklessRead();
                yield break;
            }

            if (sequence >= wanted)
            {
                WalFrame.TryValidate(scanner.Frame.Span, out _, out var body, out _);
                WalRecord record;
                try
                {
                    record = WalRecordCodec.DecodeBody(body, sequence, WalFrame.FormatOf(scanner.Frame.Span), _protection);
                }
                catch (FormatException ex)
                {
                    ThrowIfAWriterCameDuringALocklessRead();
                    throw new WalCorruptionException(
                        $"WAL record LSN {sequence} at address {scanner.RecordAddress} passed its CRC but does not decode.",
                        SegmentPath(scanner.RecordAddress), scanner.RecordAddress, new Lsn(sequence - 1), ex);
                }

                yield return record;
            }
        }
    }

    /// <summary>Where a scan for <paramref name="wanted"/> starts: the indexed record at or below it, else the first record.</summary>
    private (long Lsn, long Address) ScanStart(long wanted, long first, long firstAddress) =>
        _index.TryFloor(wanted, out var lsn, out var address) && lsn >= first ? (lsn, address) : (first, firstAddress);

    /// <summary>The first record the log holds once the truncation under way (if any) has finished: FasterLog may delete its
    /// segments before <see cref="_firstLsn"/> moves (during the truncation's commit, or a flush's that commits it first).</summary>
    private (long Lsn, long Address) HeldStart()
    {
        lock (_appendLock)
        {
            return _truncatingTo > _firstLsn ? (_truncatingTo, _truncatingAddress) : (_firstLsn, _firstAddress);
        }
    }
}
