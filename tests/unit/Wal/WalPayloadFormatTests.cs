using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using Nv.Wal.Framing;
using Nv.Wal.Protection;

namespace Nv.Unit.Tests.Wal;

/// <summary>Payload format 2 (flags bit 2): compressed and sealed payloads in WAL records; old records read unchanged.</summary>
public sealed class WalPayloadFormatTests : WalTestBase
{
    private static readonly string Secret = "Hilda Whitcher 078-05-1120";

    private static WalRecord Personal(int i, Guid? keyId = null, int repeat = 40) => Record(i) with
    {
        Payload = JsonDocument.Parse(JsonSerializer.Serialize(new
        {
            name = Secret,
            notes = string.Concat(Enumerable.Repeat("customer asked to be called back ", repeat)),
            n = i,
        })).RootElement.Clone(),
        PayloadKeyId = keyId,
        Subject = keyId is null ? null : "Order/order-" + i,
    };

    private static (byte[] Frame, ReadOnlyMemory<byte> Sealed) Encode(WalRecord record, WalPayloadProtection protection, long lsn = 1)
    {
        var frame = WalRecordCodec.EncodeFrame(record, 1 << 20, protection, out var crc, out var stored);
        WalFrame.Seal(frame, lsn, crc);
        return (frame, stored.SealedPayload);
    }

    private static WalRecord Decode(byte[] frame, WalPayloadProtection protection)
    {
        Assert.True(WalFrame.TryValidate(frame, out var seq, out var body, out var error), error);
        return WalRecordCodec.DecodeBody(body, seq, protection);
    }

    private static bool Contains(byte[] haystack, string text) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    [Fact]
    public void A_compressed_payload_round_trips_and_takes_less_space()
    {
        var record = Personal(1);
        var plain = Encode(record, WalPayloadProtection.None).Frame;
        var compressed = Encode(record, new WalPayloadProtection(null, Compress: true)).Frame;
        Assert.True(compressed.Length < plain.Length / 2, $"{compressed.Length} vs {plain.Length} bytes");
        var decoded = Decode(compressed, WalPayloadProtection.None); // reading needs no keys
        Assert.Equal(record.Payload.GetRawText(), decoded.Payload.GetRawText());
        Assert.Null(decoded.PayloadKeyId);
        Assert.False(decoded.PayloadUnavailable);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_frame_built_in_a_rented_buffer_is_the_plain_frame_byte_for_byte_even_when_the_buffer_held_a_batch_frame(bool compress)
    {
        var record = Personal(3);
        var protection = new WalPayloadProtection(null, compress);
        var (expected, _) = Encode(record, protection, lsn: 5);

        // The append path rents its frame buffer: leave the pool only buffers whose every byte says "format 2" (a batch).
        var dirty = Enumerable.Range(0, 8).Select(_ => System.Buffers.ArrayPool<byte>.Shared.Rent(expected.Length)).ToList();
        foreach (var buffer in dirty)
        {
            buffer.AsSpan().Fill(WalFrame.FormatVersion2);
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        var rentedFrame = WalRecordCodec.EncodeFrame(record, 1 << 20, protection, rent: true, out var length, out var crc, out _, out var rented);
        try
        {
            Assert.True(rented);
            Assert.Contains(dirty, b => ReferenceEquals(b, rentedFrame)); // the shared pool hands returned buffers out again
            WalFrame.Seal(rentedFrame.AsSpan(0, length), 5, crc);
            Assert.Equal(expected, rentedFrame.AsSpan(0, length).ToArray());
            Assert.Equal(record.Payload.GetRawText(), Decode(rentedFrame.AsSpan(0, length).ToArray(), WalPayloadProtection.None).Payload.GetRawText());
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rentedFrame);
        }
    }

    [Fact]
    public void A_payload_is_stored_as_the_element_s_own_UTF8_bytes_escapes_and_all()
    {
        const string raw = """{"s":"caf\u00e9 café \ud83d\ude00 😀 \"q\" \/","n":1.50e+3,"a":[ ]}""";
        var record = Record(4) with { Payload = JsonDocument.Parse(raw).RootElement.Clone() };
        var (frame, _) = Encode(record, WalPayloadProtection.None);
        Assert.True(Contains(frame, raw)); // not re-serialized: escapes, number spelling and spacing kept
        Assert.Equal(raw, Decode(frame, WalPayloadProtection.None).Payload.GetRawText());
    }

    [Fact]
    public void A_small_or_incompressible_payload_is_written_exactly_as_before()
    {
        var record = Record(1); // ~30-byte payload
        Assert.Equal(Encode(record, WalPayloadProtection.None).Frame, Encode(record, new WalPayloadProtection(null, true)).Frame);
    }

    [Fact]
    public void A_sealed_payload_round_trips_with_its_key_and_holds_no_plaintext()
    {
        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var record = Personal(2, key.Id);
        foreach (var compress in new[] { false, true })
        {
            var protection = new WalPayloadProtection(keys, compress);
            var (frame, sealedPayload) = Encode(record, protection, lsn: 9);
            Assert.False(Contains(frame, Secret));
            Assert.False(Contains(frame, "called back"));

            var decoded = Decode(frame, protection);
            Assert.Equal(record.Payload.GetRawText(), decoded.Payload.GetRawText());
            Assert.Equal(key.Id, decoded.PayloadKeyId);
            Assert.Equal("Order/order-2", decoded.Subject);
            Assert.Equal(sealedPayload.ToArray(), decoded.SealedPayload.ToArray());
            Assert.False(decoded.PayloadUnavailable);
            Assert.Equal(new Lsn(9), decoded.Lsn);
        }
    }

    [Fact]
    public void Without_the_key_a_sealed_payload_reads_as_unavailable_ciphertext()
    {
        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var record = Personal(3, key.Id);
        var (frame, sealedPayload) = Encode(record, new WalPayloadProtection(keys, true));

        foreach (var reader in new[] { WalPayloadProtection.None, new WalPayloadProtection(new InMemoryDataKeys(), false) })
        {
            var decoded = Decode(frame, reader);
            Assert.True(decoded.PayloadUnavailable);
            Assert.Equal(JsonValueKind.Undefined, decoded.Payload.ValueKind);
            Assert.Equal(key.Id, decoded.PayloadKeyId);
            Assert.Equal(sealedPayload.ToArray(), decoded.SealedPayload.ToArray());
            Assert.Equal(record.RequestId, decoded.RequestId); // everything but the payload reads as usual
        }

        keys.Destroy(key.Id); // crypto-shredding: the same frame can no longer be opened by anyone
        Assert.True(Decode(frame, new WalPayloadProtection(keys, true)).PayloadUnavailable);
    }

    [Fact]
    public void A_flipped_ciphertext_byte_a_swapped_key_id_or_a_payload_moved_to_another_record_is_refused()
    {
        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var other = keys.Add();
        var protection = new WalPayloadProtection(keys, false);
        var record = Personal(4, key.Id);
        var body = Encode(record, protection).Frame[WalFrame.HeaderSize..];
        var keyAt = body.AsSpan().IndexOf(KeyIdBytes(key.Id));
        Assert.True(keyAt > 0);

        var flipped = (byte[])body.Clone();
        flipped[keyAt + 16 + 40] ^= 0x20; // inside the ciphertext (the CRC would be recomputed by whoever did this)
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(flipped, 1, protection));

        var swapped = (byte[])body.Clone();
        KeyIdBytes(other.Id).CopyTo(swapped.AsSpan(keyAt));
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(swapped, 1, protection));

        var moved = (byte[])body.Clone();
        Guid.NewGuid().TryWriteBytes(moved.AsSpan(0, 16)); // the record id the payload was sealed for
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(moved, 1, protection));
    }

    [Fact]
    public void A_damaged_envelope_does_not_parse()
    {
        var body = Encode(Personal(5), new WalPayloadProtection(null, true)).Frame[WalFrame.HeaderSize..];
        var kindAt = KindOffset(body);
        Assert.Equal(WalRecordCodec.PayloadLz4, body[kindAt]);

        var unknownKind = (byte[])body.Clone();
        unknownKind[kindAt] = 9;
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(unknownKind, 1));

        var hugeLength = (byte[])body.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(hugeLength.AsSpan(kindAt + 1), uint.MaxValue);
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(hugeLength, 1));

        var wrongLength = (byte[])body.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(wrongLength.AsSpan(kindAt + 1), BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(kindAt + 1)) + 1);
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(wrongLength, 1));

        var garbage = (byte[])body.Clone();
        garbage.AsSpan(kindAt + 6, 20).Fill(0xFF);
        Assert.ThrowsAny<Exception>(() => WalRecordCodec.DecodeBody(garbage, 1)); // LZ4 garbage: FormatException or a JSON error wrapped as one
    }

    [Fact]
    public void A_record_naming_a_key_the_log_does_not_hold_is_refused_before_anything_is_written()
    {
        var record = Personal(6, Guid.NewGuid());
        Assert.Throws<InvalidOperationException>(() => WalRecordCodec.EncodeFrame(record, 1 << 20, new WalPayloadProtection(new InMemoryDataKeys(), true), out _, out _));
        Assert.Throws<InvalidOperationException>(() => WalRecordCodec.EncodeFrame(record, 1 << 20, WalPayloadProtection.None, out _, out _));
    }

    [Fact]
    public async Task A_log_written_in_plain_is_read_after_compression_and_encryption_are_turned_on_and_both_formats_mix()
    {
        var plain = new List<WalRecord>();
        var before = Options();
        before.CompressPayloads = false; // what every build before payload format 2 wrote
        await using (var wal = WriteAheadLog.Open(before, null, null))
        {
            plain.Add(await wal.AppendAsync(Personal(1, repeat: 10), Ct));
            await wal.FlushAsync(wal.LastLsn, Ct);
        }

        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var options = Options();
        await using (var wal = WriteAheadLog.Open(options, null, keys))
        {
            var appended = await wal.AppendAsync(Personal(2, key.Id, repeat: 10), Ct);
            Assert.False(appended.SealedPayload.IsEmpty);
            await wal.AppendAsync(Personal(3, repeat: 10), Ct); // compressed, not sealed
            await wal.FlushAsync(wal.LastLsn, Ct);
            var all = await ReadAll(wal);
            Assert.Equal(3, all.Count);
            Assert.Equal(plain[0].Payload.GetRawText(), all[0].Payload.GetRawText());
            Assert.Equal(Personal(2, repeat: 10).Payload.GetRawText(), all[1].Payload.GetRawText());
            Assert.Equal(appended.SealedPayload.ToArray(), all[1].SealedPayload.ToArray());
            Assert.Equal(Personal(3, repeat: 10).Payload.GetRawText(), all[2].Payload.GetRawText());
        }

        foreach (var segment in System.IO.Directory.GetFiles(LogDirectory))
        {
            var bytes = File.ReadAllBytes(segment);
            // The record written before encryption was on, and the compressed one (LZ4 copies a first occurrence as a
            // literal: compression is not encryption); never the sealed one.
            Assert.Equal(2, Occurrences(bytes, Secret));
        }

        await using (var wal = WriteAheadLog.Open(options, null, null))
        {
            var all = await ReadAll(wal); // an operator tool without the master key
            Assert.True(all[1].PayloadUnavailable);
            Assert.False(all[2].PayloadUnavailable);
        }
    }

    // A custom audit event about a customer, as the commit stage builds it with encryption on.
    private static WalRecord SealedEvent(Guid keyId) => Record(7) with
    {
        Operation = WalOperation.AuditEvent,
        DtoType = "Customer",
        EntityId = "ada",
        Payload = JsonSerializer.SerializeToElement(new { category = "permission", operation = "role-granted", after = new { who = Secret } }),
        PayloadKeyId = keyId,
        Subject = "Customer/ada",
        EventCategory = "permission",
        EventOperation = "role-granted",
    };

    [Fact]
    public void A_sealed_audit_event_keeps_its_category_and_operation_in_plain_and_reads_them_back_with_or_without_its_key()
    {
        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var record = SealedEvent(key.Id);
        var (frame, _) = Encode(record, new WalPayloadProtection(keys, true));
        Assert.False(Contains(frame, Secret));
        Assert.True(Contains(frame, "role-granted"));

        var opened = Decode(frame, new WalPayloadProtection(keys, true));
        Assert.Equal(record.Payload.GetRawText(), opened.Payload.GetRawText());
        Assert.Equal(("permission", "role-granted"), (opened.EventCategory, opened.EventOperation));

        keys.Destroy(key.Id); // erased: the payload is gone, the event's category and operation are not
        var erased = Decode(frame, new WalPayloadProtection(keys, true));
        Assert.True(erased.PayloadUnavailable);
        Assert.Equal(("permission", "role-granted", "Customer/ada"), (erased.EventCategory, erased.EventOperation, erased.Subject));

        // A plain event (encryption off) carries no header.
        var plainEvent = record with { PayloadKeyId = null, Subject = null, EventCategory = null, EventOperation = null };
        var plainFrame = Encode(plainEvent, WalPayloadProtection.None).Frame;
        var decoded = Decode(plainFrame, WalPayloadProtection.None);
        Assert.Null(decoded.EventCategory);
        Assert.Equal(plainEvent.Payload.GetRawText(), decoded.Payload.GetRawText());
    }

    [Fact]
    public void An_event_header_is_refused_on_anything_but_a_sealed_audit_event_when_written_and_when_read()
    {
        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var protection = new WalPayloadProtection(keys, false);
        var sealedEvent = SealedEvent(key.Id);
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(sealedEvent with { PayloadKeyId = null, Subject = null }, 1 << 20, protection, out _, out _));
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(sealedEvent with { EventOperation = null }, 1 << 20, protection, out _, out _));
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(Personal(8, key.Id) with { EventCategory = "permission", EventOperation = "x" }, 1 << 20, protection, out _, out _));

        // A sealed update whose flags byte claims an event header (damage the CRC did not catch, or a forged record) does
        // not parse, though the header's two strings are there.
        var body = Encode(Personal(9, key.Id), protection).Frame[WalFrame.HeaderSize..];
        var subjectBytes = Encoding.UTF8.GetByteCount("Order/order-9");
        var flagsAt = body.Length - (4 + subjectBytes) - 8 - 1;
        Assert.Equal(4 | 8, body[flagsAt]); // payload envelope, subject
        var forged = body.Concat(new byte[] { 1, 0, 0, 0, (byte)'p', 1, 0, 0, 0, (byte)'x' }).ToArray();
        forged[flagsAt] |= 16;
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(forged, 1, protection));

        // Nor does a compressed (not sealed) event whose flags claim a header: only a sealed payload has one beside it.
        var compressedEvent = SealedEvent(key.Id) with
        {
            PayloadKeyId = null,
            Subject = null,
            EventCategory = null,
            EventOperation = null,
            Payload = JsonSerializer.SerializeToElement(new { category = "permission", operation = "role-granted", after = new { notes = string.Concat(Enumerable.Repeat("called back ", 40)) } }),
        };
        var compressedBody = Encode(compressedEvent, new WalPayloadProtection(null, true)).Frame[WalFrame.HeaderSize..];
        var compressedFlagsAt = compressedBody.Length - 8 - 1;
        Assert.Equal(4, compressedBody[compressedFlagsAt]); // payload envelope (LZ4) only
        var forgedCompressed = compressedBody.Concat(new byte[] { 1, 0, 0, 0, (byte)'p', 1, 0, 0, 0, (byte)'x' }).ToArray();
        forgedCompressed[compressedFlagsAt] |= 16;
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(forgedCompressed, 1, protection));

        // A sealed event whose header was cut off does not parse either.
        var eventBody = Encode(SealedEvent(key.Id), protection).Frame[WalFrame.HeaderSize..];
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(eventBody.AsSpan(0, eventBody.Length - 5), 1, protection));
    }

    private static int Occurrences(byte[] haystack, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        var count = 0;
        for (var span = haystack.AsSpan(); span.IndexOf(needle) is var at and >= 0; span = span[(at + needle.Length)..])
        {
            count++;
        }

        return count;
    }

    private static byte[] KeyIdBytes(Guid id)
    {
        var bytes = new byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return bytes;
    }

    // The payload field of a format-1 body: after id, service, version, ticks, offset, operation and six strings.
    private static int KindOffset(byte[] body)
    {
        var p = 16;
        p = SkipString(body, p);
        p += 4 + 8 + 2 + 1;
        for (var i = 0; i < 6; i++)
        {
            p = SkipString(body, p);
        }

        return p + 4;
    }

    private static int SkipString(byte[] body, int p)
    {
        var n = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(p));
        return p + 4 + Math.Max(0, n);
    }
}
