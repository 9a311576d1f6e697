using System.Text;
using System.Text.Json;

namespace Nv.Wal.Framing;

/// <remarks>
/// Format 2, a batch record (<see cref="WalOperation.Batch"/>), written with frame format byte 2:
/// kind u8 (1 = batch; 2 = batch with the request's fingerprint, then 32 bytes of it) | id (16) | service | timestamp ticks i64 | offset minutes i16 | requestId | userId? | reason? |
/// metadata count i32 + pairs | item count i32 (≥ 1), then per item: id (16) | operation u8 (create, update or delete) |
/// version i32 | dtoType | entityId | replayKey | payload (UTF-8 JSON, length -1 = undefined) | flags u8 + expectedLsn i64
/// [| subject]. Item flags: bit 0 = the expected LSN is set; bit 1 = the payload is an envelope (compressed or sealed for
/// the item's id, as in format 1's payload format 2, see <c>WalRecordCodec.Payload.cs</c>); bit 2 = the item's data subject
/// follows. A batch without compression or encryption is byte-for-byte what builds before them wrote; other flag bits are
/// refused.
/// The whole batch is one frame: one CRC covers every item and the frame has one sequence, so recovery keeps or cuts a
/// batch as a whole and a torn batch can never be read back as a shorter one. The leading kind byte leaves room for
/// other record shapes in format 2 without another frame format.
/// </remarks>
internal static partial class WalRecordCodec
{
    private const byte BatchKind = 1;
    private const byte FingerprintedBatchKind = 2; // a batch without a fingerprint is still kind 1, byte for byte

    private const byte ItemHasExpectedLsn = 1;
    private const byte ItemPayloadEnvelope = 2;
    private const byte ItemHasSubject = 4;

    private static byte[] EncodeBatchFrame(WalRecord record, int maxBodyBytes, WalPayloadProtection protection, out uint bodyCrc, out WalRecord stored)
    {
        CheckBatchEnvelope(record);
        var items = record.Items!;
        var metadata = record.Metadata ?? new Dictionary<string, string>();
        var fingerprint = record.Fingerprint is null ? null : ParseFingerprint(record.Fingerprint);
        var payloads = new byte[]?[items.Count];
        var envelopes = new bool[items.Count];
        var sealedPayloads = new ReadOnlyMemory<byte>[items.Count];
        long size = 1 + (fingerprint?.Length ?? 0) + 16 + Str(record.Service) + 8 + 2 + Str(record.RequestId) + Str(record.UserId) + Str(record.Reason) + 4 + 4;
        foreach (var pair in metadata)
        {
            size += Str(pair.Key) + Str(pair.Value);
        }

        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i] ?? throw new ArgumentException($"Batch item {i} is null.", nameof(record));
            (payloads[i], envelopes[i]) = EncodePayload(item.Id, item.Payload, item.PayloadKeyId, protection, out sealedPayloads[i]);
            size += 16 + 1 + 4 + Str(item.DtoType) + Str(item.EntityId) + Str(item.ReplayKey) + 4 + (payloads[i]?.Length ?? 0) + 1 + 8
                + (item.Subject is null ? 0 : Str(item.Subject));
        }

        // A refusal of this record only, as for a single-entity record: nothing is written and the log stays open (callers
        // answer 413 and carry on). An ArgumentException here would read as a log failure and fault the write path.
        if (size > maxBodyBytes)
        {
            throw new WalRecordTooLargeException(size, maxBodyBytes);
        }

        var frame = new byte[WalFrame.HeaderSize + (int)size];
        frame[2] = WalFrame.FormatVersion2;
        var w = new SpanWriter(frame.AsSpan(WalFrame.HeaderSize));
        w.Byte(fingerprint is null ? BatchKind : FingerprintedBatchKind);
        if (fingerprint is not null)
        {
            fingerprint.CopyTo(w.Take(fingerprint.Length));
        }

        record.Id.TryWriteBytes(w.Take(16));
        w.String(record.Service);
        w.Int64(record.Timestamp.Ticks);
        w.Int16(checked((short)record.Timestamp.Offset.TotalMinutes));
        w.String(record.RequestId);
        w.String(record.UserId);
        w.String(record.Reason);
        w.Int32(metadata.Count);
        foreach (var pair in metadata)
        {
            w.String(pair.Key);
            w.String(pair.Value);
        }

        w.Int32(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            item.Id.TryWriteBytes(w.Take(16));
            w.Byte((byte)item.Operation);
            w.Int32(item.Version);
            w.String(item.DtoType);
            w.String(item.EntityId);
            w.String(item.ReplayKey);
            if (payloads[i] is { } payload)
            {
                w.Int32(payload.Length);
                payload.CopyTo(w.Take(payload.Length));
            }
            else
            {
                w.Int32(-1);
            }

            w.Byte((byte)((item.ExpectedLsn.HasValue ? ItemHasExpectedLsn : 0) | (envelopes[i] ? ItemPayloadEnvelope : 0)
                | (item.Subject is null ? 0 : ItemHasSubject)));
            w.Int64(item.ExpectedLsn?.Value ?? 0);
            if (item.Subject is not null)
            {
                w.String(item.Subject);
            }
        }

        bodyCrc = Crc32C.Compute(frame.AsSpan(WalFrame.HeaderSize));
        stored = sealedPayloads.All(static p => p.IsEmpty)
            ? record
            : record with { Items = [.. items.Select((item, i) => sealedPayloads[i].IsEmpty ? item : item with { SealedPayload = sealedPayloads[i] })] };
        return frame;
    }

    // What is written is exactly what is read back: a batch's envelope carries no entity fields of its own.
    private static void CheckBatchEnvelope(WalRecord record)
    {
        if (record.Operation != WalOperation.Batch || record.Items is not { Count: > 0 } items)
        {
            throw new ArgumentException("A batch record has operation Batch and at least one item; a single-entity record has no items.", nameof(record));
        }

        if (record.Version != 0 || record.DtoType.Length != 0 || record.EntityId.Length != 0 || record.ReplayKey.Length != 0
            || record.Payload.ValueKind != JsonValueKind.Undefined || record.ExpectedLsn is not null)
        {
            throw new ArgumentException(
                "A batch record's own version, dtoType, entityId, replayKey, payload and expectedLsn must be empty: each item carries its own.",
                nameof(record));
        }

        foreach (var item in items)
        {
            if (item is not null && item.Operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete))
            {
                throw new ArgumentException($"A batch item's operation must be create, update or delete, not {item.Operation}.", nameof(record));
            }
        }
    }

    /// <summary>Decodes a format-2 body (a batch record) whose frame already validated.</summary>
    /// <exception cref="FormatException">The body does not parse.</exception>
    private static WalRecord DecodeBatchBody(ReadOnlySpan<byte> body, long sequence, WalPayloadProtection protection)
    {
        try
        {
            var r = new SpanReader(body);
            var kind = r.Byte();
            if (kind is not (BatchKind or FingerprintedBatchKind))
            {
                throw new FormatException($"unknown format-2 record kind {kind}");
            }

            var fingerprint = kind == FingerprintedBatchKind ? Convert.ToHexStringLower(r.Take(FingerprintBytes)) : null;

            var id = new Guid(r.Take(16));
            var service = r.String();
            var ticks = r.Int64();
            var offset = TimeSpan.FromMinutes(r.Int16());
            var requestId = r.String();
            var userId = r.String();
            var reason = r.String();
            var metadataCount = r.Int32();
            if (metadataCount < 0 || metadataCount > body.Length)
            {
                throw new FormatException("bad metadata count");
            }

            var metadata = new Dictionary<string, string>(metadataCount, StringComparer.Ordinal);
            for (var i = 0; i < metadataCount; i++)
            {
                metadata[r.String() ?? throw new FormatException("null metadata key")] = r.String() ?? throw new FormatException("null metadata value");
            }

            // Each item takes at least 46 bytes, so a count above body.Length / 46 cannot be honest.
            var itemCount = r.Int32();
            if (itemCount < 1 || itemCount > body.Length / 46)
            {
                throw new FormatException("bad item count");
            }

            var items = new WalBatchItem[itemCount];
            for (var i = 0; i < itemCount; i++)
            {
                items[i] = DecodeItem(ref r, protection);
            }

            if (!r.AtEnd || service is null || requestId is null)
            {
                throw new FormatException("bad batch record body");
            }

            return new WalRecord
            {
                Id = id,
                Lsn = new Lsn(sequence),
                Service = service,
                Version = 0,
                Timestamp = new DateTimeOffset(ticks, offset),
                Operation = WalOperation.Batch,
                DtoType = string.Empty,
                EntityId = string.Empty,
                Payload = default,
                ReplayKey = string.Empty,
                RequestId = requestId,
                UserId = userId,
                Reason = reason,
                Metadata = metadata.AsReadOnly(),
                Items = items,
                Fingerprint = fingerprint,
            };
        }
        catch (Protection.PayloadSealException ex)
        {
            throw new FormatException("A sealed batch item payload does not authenticate.", ex);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or DecoderFallbackException or IndexOutOfRangeException)
        {
            throw new FormatException("The WAL batch record body does not parse.", ex);
        }
    }

    private static WalBatchItem DecodeItem(ref SpanReader r, WalPayloadProtection protection)
    {
        var id = new Guid(r.Take(16));
        var operation = (WalOperation)r.Byte();
        if (operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete))
        {
            throw new FormatException($"batch item operation {(byte)operation} is not create, update or delete");
        }

        var version = r.Int32();
        var dtoType = r.String() ?? throw new FormatException("null item dtoType");
        var entityId = r.String() ?? throw new FormatException("null item entityId");
        var replayKey = r.String() ?? throw new FormatException("null item replayKey");
        var payloadLength = r.Int32();
        if (payloadLength < -1)
        {
            throw new FormatException("bad item payload length");
        }

        var payloadBytes = payloadLength >= 0 ? r.Take(payloadLength) : default;
        var flags = r.Byte();
        var expected = r.Int64();
        if ((flags & ~(ItemHasExpectedLsn | ItemPayloadEnvelope | ItemHasSubject)) != 0)
        {
            throw new FormatException($"unknown batch item flags 0x{flags:x2}");
        }

        var subject = (flags & ItemHasSubject) != 0 ? r.String() ?? throw new FormatException("null item subject") : null;
        var payload = DecodePayload(payloadBytes, payloadLength < 0, (flags & ItemPayloadEnvelope) != 0, id, protection,
            out var keyId, out var sealedPayload, out var unavailable);
        var hasExpected = (flags & ItemHasExpectedLsn) != 0 ? 1 : 0;

        return new WalBatchItem
        {
            Id = id,
            Operation = operation,
            Version = version,
            DtoType = dtoType,
            EntityId = entityId,
            Payload = payload,
            ReplayKey = replayKey,
            ExpectedLsn = hasExpected == 1 ? new Lsn(expected) : null,
            PayloadKeyId = keyId,
            Subject = subject,
            SealedPayload = sealedPayload,
            PayloadUnavailable = unavailable,
        };
    }
}
