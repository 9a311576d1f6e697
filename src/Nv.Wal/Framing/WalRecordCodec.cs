using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Nv.Wal.Framing;

/// <summary>Encodes a <see cref="WalRecord"/> into a frame body (compact binary) and back.</summary>
/// <remarks>
/// Format 1 (single-entity records; unchanged since the first release, so a log without batches stays readable by
/// older builds): id (16) | service | version i32 | timestamp ticks i64 | offset minutes i16 | operation u8 | dtoType |
/// entityId | replayKey | requestId | userId? | reason? | payload (UTF-8 JSON, length -1 = undefined) |
/// metadata count i32 + pairs | flags u8 + expectedLsn i64 [| fingerprint 32 bytes]. Strings are i32 byte length
/// (-1 = null) + UTF-8.
/// Flags: bit 0 = an expected LSN is set; bit 1 = a request fingerprint (SHA-256) follows the expected LSN. Bit 1 is the
/// one extension of format 1 so far: a record without a fingerprint is byte-for-byte what earlier builds wrote, so every
/// existing log reads unchanged; a record with one is refused as unparseable by a build that predates it (no downgrade
/// past it). Unknown flag bits are refused.
/// Bit 2 (payload format 2, data at rest): the payload bytes are an envelope: a kind byte, then for kind 1 (LZ4) the raw
/// length u32 and one LZ4 block (<see cref="Protection.PayloadCompression"/>), for kind 2 (sealed) the data key id (16
/// bytes, RFC 4122 order) and the sealed value (<see cref="Protection.DataKey"/>: version, flags, nonce, tag, ciphertext of
/// the UTF-8 JSON, itself compressed inside when that paid), bound to <c>"nv-wal-payload-v1" ‖ record id ‖ key id</c>.
/// Without bit 2 the payload is the UTF-8 JSON as before (payload format 1), so logs written before stay readable and a
/// record whose payload is neither compressed nor sealed is byte-for-byte what earlier builds wrote. Bit 3: the record's
/// data subject follows the fingerprint (a string). Bit 4 (audit events whose payload is sealed): the event's category and
/// operation follow the subject (two strings), in plain, so its entry can be built after the key is destroyed. Records
/// using bits 2, 3 or 4 are refused by builds that predate them.
/// Format 2 (batch records) is described in <c>WalRecordCodec.Batch.cs</c>. The format is the frame header's format
/// byte (<see cref="WalFrame.FormatOf"/>). The LSN is not in the body: it is the frame's sequence.
/// </remarks>
internal static partial class WalRecordCodec
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Builds a frame (header left blank) and the CRC-32C of its body, with the payload in plain text (tests,
    /// tools).</summary>
    public static byte[] EncodeFrame(WalRecord record, int maxBodyBytes, out uint bodyCrc) =>
        EncodeFrame(record, maxBodyBytes, WalPayloadProtection.None, out bodyCrc, out _);

    /// <summary>Builds a frame (header left blank) and the CRC-32C of its body; the payload compressed and sealed as
    /// <paramref name="protection"/> and the record say. <paramref name="stored"/> receives the record as stored: with its
    /// sealed payloads (<see cref="WalRecord.SealedPayload"/>, and each batch item's) set.</summary>
    /// <exception cref="InvalidOperationException">The record names a data key <paramref name="protection"/> does not hold.</exception>
    public static byte[] EncodeFrame(WalRecord record, int maxBodyBytes, WalPayloadProtection protection, out uint bodyCrc, out WalRecord stored) =>
        EncodeFrame(record, maxBodyBytes, protection, rent: false, out _, out bodyCrc, out stored, out _);

    /// <summary>As <see cref="EncodeFrame(WalRecord, int, WalPayloadProtection, out uint, out WalRecord)"/>; the frame is
    /// the first <paramref name="length"/> bytes of the array returned. With <paramref name="rent"/>, a single-entity
    /// record's frame is built in a buffer rented from <see cref="ArrayPool{T}.Shared"/> (<paramref name="rented"/> says
    /// so, and the caller returns it once the frame is copied into the log), sparing the append path one allocation the
    /// size of the record.</summary>
    public static byte[] EncodeFrame(WalRecord record, int maxBodyBytes, WalPayloadProtection protection, bool rent, out int length, out uint bodyCrc,
        out WalRecord stored, out bool rented)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(protection);
        if (record.Operation == WalOperation.Batch || record.Items is not null)
        {
            var batch = EncodeBatchFrame(record, maxBodyBytes, protection, out bodyCrc, out stored);
            length = batch.Length;
            rented = false;
            return batch;
        }

        var (payload, envelope) = EncodePayload(record, protection, out var sealedPayload);
        stored = sealedPayload.IsEmpty ? record : record with { SealedPayload = sealedPayload };
        var metadata = record.Metadata ?? new Dictionary<string, string>();

        var eventHeader = EventHeaderOf(record);
        var fingerprint = record.Fingerprint is null ? null : ParseFingerprint(record.Fingerprint);
        var size = 16 + Str(record.Service) + 4 + 8 + 2 + 1 + Str(record.DtoType) + Str(record.EntityId) + Str(record.ReplayKey)
            + Str(record.RequestId) + Str(record.UserId) + Str(record.Reason) + 4 + (payload?.Length ?? 0) + 4 + 1 + 8
            + (fingerprint?.Length ?? 0) + (record.Subject is null ? 0 : Str(record.Subject))
            + (eventHeader ? Str(record.EventCategory) + Str(record.EventOperation) : 0);
        foreach (var pair in metadata)
        {
            size += Str(pair.Key) + Str(pair.Value);
        }

        if (size > maxBodyBytes)
        {
            throw new WalRecordTooLargeException(size, maxBodyBytes);
        }

        length = WalFrame.HeaderSize + size;
        rented = rent;
        var frame = rent ? ArrayPool<byte>.Shared.Rent(length) : new byte[length];
        frame.AsSpan(0, WalFrame.HeaderSize).Clear(); // the header is left blank for WalFrame.Seal
        var w = new SpanWriter(frame.AsSpan(WalFrame.HeaderSize, size));
        record.Id.TryWriteBytes(w.Take(16));
        w.String(record.Service);
        w.Int32(record.Version);
        w.Int64(record.Timestamp.Ticks);
        w.Int16(checked((short)record.Timestamp.Offset.TotalMinutes));
        w.Byte((byte)record.Operation);
        w.String(record.DtoType);
        w.String(record.EntityId);
        w.String(record.ReplayKey);
        w.String(record.RequestId);
        w.String(record.UserId);
        w.String(record.Reason);
        if (payload is null)
        {
            w.Int32(-1);
        }
        else
        {
            w.Int32(payload.Length);
            payload.CopyTo(w.Take(payload.Length));
        }

        w.Int32(metadata.Count);
        foreach (var pair in metadata)
        {
            w.String(pair.Key);
            w.String(pair.Value);
        }

        w.Byte((byte)((record.ExpectedLsn.HasValue ? HasExpectedLsn : 0) | (fingerprint is null ? 0 : HasFingerprint)
            | (envelope ? PayloadEnvelope : 0) | (record.Subject is null ? 0 : HasSubject) | (eventHeader ? HasEventHeader : 0)));
        w.Int64(record.ExpectedLsn?.Value ?? 0);
        if (fingerprint is not null)
        {
            fingerprint.CopyTo(w.Take(FingerprintBytes));
        }

        if (record.Subject is not null)
        {
            w.String(record.Subject);
        }

        if (eventHeader)
        {
            w.String(record.EventCategory);
            w.String(record.EventOperation);
        }

        bodyCrc = Crc32C.Compute(frame.AsSpan(WalFrame.HeaderSize, size));
        return frame;
    }

    /// <summary>Decodes a body whose frame already validated, in the frame's body format, with no data keys.</summary>
    /// <exception cref="FormatException">The body does not parse (a format bug or undetected damage), or the format is unknown.</exception>
    public static WalRecord DecodeBody(ReadOnlySpan<byte> body, long sequence, byte format) => DecodeBody(body, sequence, format, WalPayloadProtection.None);

    /// <summary>Decodes a body whose frame already validated, in the frame's body format; sealed payloads are opened when
    /// <paramref name="protection"/> holds their keys.</summary>
    /// <exception cref="FormatException">The body does not parse (a format bug or undetected damage), or the format is unknown.</exception>
    public static WalRecord DecodeBody(ReadOnlySpan<byte> body, long sequence, byte format, WalPayloadProtection protection) => format switch
    {
        WalFrame.FormatVersion1 => DecodeBody(body, sequence, protection),
        WalFrame.FormatVersion2 => DecodeBatchBody(body, sequence, protection),
        _ => throw new FormatException($"Unknown WAL record body format {format}."),
    };

    /// <summary>Decodes a format-1 body (a single-entity record) whose frame already validated, with no data keys (a
    /// sealed payload stays unavailable).</summary>
    /// <exception cref="FormatException">The body does not parse (a format bug or undetected damage).</exception>
    public static WalRecord DecodeBody(ReadOnlySpan<byte> body, long sequence) => DecodeBody(body, sequence, WalPayloadProtection.None);

    /// <summary>Decodes a body whose frame already validated; a sealed payload is opened when
    /// <paramref name="protection"/> holds its key, else left unavailable (<see cref="WalRecord.PayloadUnavailable"/>).</summary>
    /// <exception cref="FormatException">The body does not parse, or a sealed payload does not authenticate (damage or
    /// tampering that kept the CRC valid).</exception>
    /// <exception cref="Protection.MasterKeyException">The payload's key exists but the master key cannot unwrap it.</exception>
    public static WalRecord DecodeBody(ReadOnlySpan<byte> body, long sequence, WalPayloadProtection protection)
    {
        ArgumentNullException.ThrowIfNull(protection);
        try
        {
            var r = new SpanReader(body);
            var id = new Guid(r.Take(16));
            var service = r.String()!;
            var version = r.Int32();
            var ticks = r.Int64();
            var offset = TimeSpan.FromMinutes(r.Int16());
            var operation = (WalOperation)r.Byte();
            var dtoType = r.String()!;
            var entityId = r.String()!;
            var replayKey = r.String()!;
            var requestId = r.String()!;
            var userId = r.String();
            var reason = r.String();
            var payloadLength = r.Int32();
            var payloadBytes = payloadLength >= 0 ? r.Take(payloadLength) : default;

            var count = r.Int32();
            if (count < 0 || count > body.Length)
            {
                throw new FormatException("bad metadata count");
            }

            var metadata = new Dictionary<string, string>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                metadata[r.String()!] = r.String()!;
            }

            var flags = r.Byte();
            var expected = r.Int64();
            if ((flags & ~(HasExpectedLsn | HasFingerprint | PayloadEnvelope | HasSubject | HasEventHeader)) != 0)
            {
                throw new FormatException($"unknown record flags 0x{flags:x2}");
            }

            if (operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete or WalOperation.AuditEvent or WalOperation.Erase))
            {
                throw new FormatException($"operation {(byte)operation} is not a single-record operation");
            }

            string? fingerprint = null;
            if ((flags & HasFingerprint) != 0)
            {
                fingerprint = Convert.ToHexStringLower(r.Take(FingerprintBytes));
            }

            var subject = (flags & HasSubject) != 0 ? r.String() ?? throw new FormatException("null subject") : null;
            string? eventCategory = null, eventOperation = null;
            if ((flags & HasEventHeader) != 0)
            {
                if (operation != WalOperation.AuditEvent || (flags & PayloadEnvelope) == 0)
                {
                    throw new FormatException("an event header on a record that is not an audit event with a payload envelope");
                }

                eventCategory = r.String() ?? throw new FormatException("null event category");
                eventOperation = r.String() ?? throw new FormatException("null event operation");
            }

            if (!r.AtEnd || service is null || dtoType is null || entityId is null || replayKey is null || requestId is null)
            {
                throw new FormatException("bad record body");
            }

            var payload = DecodePayload(payloadBytes, payloadLength < 0, (flags & PayloadEnvelope) != 0, id, protection,
                out var keyId, out var sealedPayload, out var unavailable);
            if (eventCategory is not null && keyId is null)
            {
                throw new FormatException("an event header beside a payload that is not sealed");
            }

            return new WalRecord
            {
                Id = id,
                Lsn = new Lsn(sequence),
                Service = service,
                Version = version,
                Timestamp = new DateTimeOffset(ticks, offset),
                Operation = operation,
                DtoType = dtoType,
                EntityId = entityId,
                Payload = payload,
                ReplayKey = replayKey,
                RequestId = requestId,
                UserId = userId,
                Reason = reason,
                Metadata = metadata.AsReadOnly(),
                ExpectedLsn = (flags & HasExpectedLsn) != 0 ? new Lsn(expected) : null,
                Fingerprint = fingerprint,
                PayloadKeyId = keyId,
                Subject = subject,
                EventCategory = eventCategory,
                EventOperation = eventOperation,
                SealedPayload = sealedPayload,
                PayloadUnavailable = unavailable,
            };
        }
        catch (Protection.PayloadSealException ex)
        {
            throw new FormatException("The WAL record's sealed payload does not authenticate.", ex);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or DecoderFallbackException or IndexOutOfRangeException)
        {
            throw new FormatException("The WAL record body does not parse.", ex);
        }
    }

    private const byte HasExpectedLsn = 1;
    private const byte HasFingerprint = 2;
    private const byte PayloadEnvelope = 4;
    private const byte HasSubject = 8;
    private const byte HasEventHeader = 16;
    private const int FingerprintBytes = 32;

    // An audit event's category and operation are written in plain beside its payload only when that payload is sealed
    // (a plain event record stays byte-for-byte what earlier builds wrote); both or neither.
    private static bool EventHeaderOf(WalRecord record)
    {
        if (record.EventCategory is null && record.EventOperation is null)
        {
            return false;
        }

        if (record.Operation != WalOperation.AuditEvent || record.PayloadKeyId is null || record.EventCategory is null || record.EventOperation is null)
        {
            throw new ArgumentException(
                "Only an audit event whose payload is sealed carries its category and operation in plain, and it carries both.", nameof(record));
        }

        return true;
    }

    private static int Str(string? s) => 4 + (s is null ? 0 : Utf8.GetByteCount(s));

    private static byte[] ParseFingerprint(string fingerprint)
    {
        if (fingerprint.Length != FingerprintBytes * 2 || !fingerprint.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"A record fingerprint is {FingerprintBytes * 2} lowercase hex digits.", nameof(fingerprint));
        }

        return Convert.FromHexString(fingerprint);
    }

    private ref struct SpanWriter(Span<byte> span)
    {
        private Span<byte> _rest = span;

        public Span<byte> Take(int n)
        {
            var s = _rest[..n];
            _rest = _rest[n..];
            return s;
        }

        public void Byte(byte v) => Take(1)[0] = v;

        public void Int16(short v) => BinaryPrimitives.WriteInt16LittleEndian(Take(2), v);

        public void Int32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), v);

        public void Int64(long v) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), v);

        public void String(string? s)
        {
            if (s is null)
            {
                Int32(-1);
                return;
            }

            var n = Utf8.GetByteCount(s);
            Int32(n);
            Utf8.GetBytes(s, Take(n));
        }
    }

    private ref struct SpanReader(ReadOnlySpan<byte> span)
    {
        private ReadOnlySpan<byte> _rest = span;

        public readonly bool AtEnd => _rest.IsEmpty;

        public ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > _rest.Length)
            {
                throw new FormatException("field runs past the end of the body");
            }

            var s = _rest[..n];
            _rest = _rest[n..];
            return s;
        }

        public byte Byte() => Take(1)[0];

        public short Int16() => BinaryPrimitives.ReadInt16LittleEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public string? String()
        {
            var n = Int32();
            return n == -1 ? null : Utf8.GetString(Take(n));
        }
    }
}
