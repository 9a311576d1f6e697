using System.Runtime.InteropServices;
using System.Text.Json;
using Nv.Wal.Protection;

namespace Nv.Wal.Framing;

/// <summary>The payload envelope (payload format 2): compression and sealing of a record's payload.</summary>
internal static partial class WalRecordCodec
{
    /// <summary>Envelope kind: LZ4-compressed UTF-8 JSON.</summary>
    public const byte PayloadLz4 = 1;

    /// <summary>Envelope kind: sealed under a data key.</summary>
    public const byte PayloadSealed = 2;

    private static ReadOnlySpan<byte> PayloadContext => "nv-wal-payload-v1"u8;

    /// <summary>The associated data a WAL payload is sealed with: binds it to its record and key.</summary>
    public static byte[] PayloadAssociatedData(Guid recordId, Guid keyId)
    {
        var ad = new byte[PayloadContext.Length + 32];
        PayloadContext.CopyTo(ad);
        recordId.TryWriteBytes(ad.AsSpan(PayloadContext.Length, 16), bigEndian: true, out _);
        keyId.TryWriteBytes(ad.AsSpan(PayloadContext.Length + 16, 16), bigEndian: true, out _);
        return ad;
    }

    // The payload field's bytes (null: undefined) and whether they are an envelope (flags bit 2).
    private static (byte[]? Bytes, bool Envelope) EncodePayload(WalRecord record, WalPayloadProtection protection, out ReadOnlyMemory<byte> sealedPayload) =>
        EncodePayload(record.Id, record.Payload, record.PayloadKeyId, protection, out sealedPayload);

    // The same for a payload sealed for the record (or batch item) with id <paramref name="id"/>.
    private static (byte[]? Bytes, bool Envelope) EncodePayload(Guid id, JsonElement payloadElement, Guid? payloadKeyId, WalPayloadProtection protection,
        out ReadOnlyMemory<byte> sealedPayload)
    {
        sealedPayload = default;
        if (payloadElement.ValueKind == JsonValueKind.Undefined)
        {
            if (payloadKeyId is not null)
            {
                throw new ArgumentException("A record whose payload is sealed needs a payload.", nameof(payloadElement));
            }

            return (null, false);
        }

        // The element's own UTF-8 bytes (a parsed JsonDocument validated them), without a UTF-16 round trip.
        var raw = JsonMarshal.GetRawUtf8Value(payloadElement);
        if (payloadKeyId is { } keyId)
        {
            if (protection.Keys is null || !protection.Keys.TryGetKey(keyId, out var key))
            {
                throw new InvalidOperationException(
                    $"The record's payload is to be sealed under data key {keyId}, which the log's key provider does not hold.");
            }

            var sealedValue = key.Seal(raw, PayloadAssociatedData(id, keyId), protection.Compress);
            var bytes = new byte[1 + 16 + sealedValue.Length];
            bytes[0] = PayloadSealed;
            keyId.TryWriteBytes(bytes.AsSpan(1, 16), bigEndian: true, out _);
            sealedValue.CopyTo(bytes, 17);
            sealedPayload = sealedValue;
            return (bytes, true);
        }

        if (protection.Compress && PayloadCompression.TryCompress(raw, reserve: 1) is { } compressed)
        {
            compressed[0] = PayloadLz4;
            return (compressed, true);
        }

        return (raw.ToArray(), false);
    }

    private static JsonElement DecodePayload(ReadOnlySpan<byte> field, bool isNull, bool envelope, Guid recordId, WalPayloadProtection protection,
        out Guid? keyId, out ReadOnlyMemory<byte> sealedPayload, out bool unavailable)
    {
        keyId = null;
        sealedPayload = default;
        unavailable = false;
        if (isNull)
        {
            return default;
        }

        if (!envelope)
        {
            return Parse(field);
        }

        if (field.IsEmpty)
        {
            throw new FormatException("empty payload envelope");
        }

        switch (field[0])
        {
            case PayloadLz4:
                return Parse(PayloadCompression.Decompress(field[1..], MaxPayloadBytes));
            case PayloadSealed:
                if (field.Length < 17)
                {
                    throw new FormatException("sealed payload shorter than its key id");
                }

                var id = new Guid(field.Slice(1, 16), bigEndian: true);
                keyId = id;
                sealedPayload = field[17..].ToArray();
                if (protection.Keys is null || !protection.Keys.TryGetKey(id, out var key))
                {
                    unavailable = true;
                    return default;
                }

                return Parse(key.Open(sealedPayload.Span, PayloadAssociatedData(recordId, id)));
            default:
                throw new FormatException($"unknown payload envelope kind {field[0]}");
        }
    }

    private const int MaxPayloadBytes = 1 << 30;

    private static JsonElement Parse(ReadOnlySpan<byte> utf8)
    {
        using var doc = JsonDocument.Parse(utf8.ToArray());
        return doc.RootElement.Clone();
    }
}
