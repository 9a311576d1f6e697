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

        long expected;
        long address;
        if (!_index.TryFloor(wanted, out expected, out address) || expected < first)
        {
            expected = first;
            address = firstAddress;
        }

        await Task.Yield();
        var scanner = new LogScanner(_reader, _options.PageSizeBits);
        var previous = expected - 1;
        var checkExact = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = scanner.Next(ref address, durable.Address);
            if (step == ScanStep.End)
            {
                yield break;
            }

            if (step == ScanStep.Damage)
            {
                var damage = address;
                var resync = scanner.Resync(damage, durable.Address);
                var probe = resync;
                if (resync < 0 || scanner.Next(ref probe, durable.Address) != ScanStep.Record || scanner.Sequence != previous + 1)
                {
                    throw new WalCorruptionException(
                        $"Damaged WAL record at address {damage} ({scanner.Reason}) after LSN {previous}.",
                        _reader.SegmentPath(damage), damage, new Lsn(previous));
                }

                Log.BenignGap(_logger, damage, scanner.Reason ?? "unknown", previous + 1);
                address = resync;
                continue;
            }

            var sequence = scanner.Sequence;
            if ((checkExact && sequence != expected) || sequence <= previous)
            {
                throw new WalCorruptionException(
                    $"WAL sequence out of order at address {scanner.RecordAddress}: LSN {sequence} after LSN {previous}.",
                    _reader.SegmentPath(scanner.RecordAddress), scanner.RecordAddress, new Lsn(previous));
            }

            checkExact = false;
            previous = sequence;
            if (sequence > durable.Lsn)
            {
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
                    throw new WalCorruptionException(
                        $"WAL record LSN {sequence} at address {scanner.RecordAddress} passed its CRC but does not decode.",
                        _reader.SegmentPath(scanner.RecordAddress), scanner.RecordAddress, new Lsn(sequence - 1), ex);
                }

                yield return record;
            }
        }
    }
}
