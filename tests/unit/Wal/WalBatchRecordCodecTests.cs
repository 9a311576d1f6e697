using System.Buffers.Binary;
using System.Text.Json;
using Nv.Wal;
using Nv.Wal.Framing;

namespace Nv.Unit.Tests.Wal;

/// <summary>Format 2 of the WAL record codec (batch records) and the compatibility of format 1 (single-entity records).</summary>
public sealed class WalBatchRecordCodecTests
{
    internal static WalRecord Batch(int items = 3, long lsn = 42) => new()
    {
        Id = Guid.CreateVersion7(),
        Lsn = new Lsn(lsn),
        Service = "billing-ü",
        Version = 0,
        Timestamp = new DateTimeOffset(2024, 12, 31, 23, 59, 58, 123, TimeSpan.FromHours(2)).AddTicks(4567),
        Operation = WalOperation.Batch,
        DtoType = "",
        EntityId = "",
        Payload = default,
        ReplayKey = "",
        RequestId = "batch-1",
        UserId = "alice",
        Reason = "checkout ✓",
        Metadata = new Dictionary<string, string> { ["ticket"] = "T-1", ["empty"] = "" },
        Items = [.. Enumerable.Range(0, items).Select(i => new WalBatchItem
        {
            Id = Guid.CreateVersion7(),
            Operation = (WalOperation)(1 + (i % 3)),
            Version = i + 1,
            DtoType = i % 2 == 0 ? "Order" : "Stock",
            EntityId = $"e:{i}/ü",
            Payload = i % 3 == 2 ? default : JsonDocument.Parse($$"""{"n":{{i}},"a":[1,2.5,"x"],"b":null}""").RootElement.Clone(),
            ReplayKey = ReplayKey.Create("prod", "billing", i + 1, i % 2 == 0 ? "Order" : "Stock", $"e:{i}/ü"),
            ExpectedLsn = i == 1 ? new Lsn(41) : null,
        })],
    };

    private static byte[] Frame(WalRecord record, long lsn, int max = 1 << 20)
    {
        var frame = WalRecordCodec.EncodeFrame(record, max, out var crc);
        WalFrame.Seal(frame, lsn, crc);
        return frame;
    }

    private static WalRecord Decode(byte[] frame)
    {
        Assert.True(WalFrame.TryValidate(frame, out var sequence, out var body, out var error), error);
        return WalRecordCodec.DecodeBody(body, sequence, WalFrame.FormatOf(frame));
    }

    [Fact]
    public void A_batch_record_round_trips_every_field_of_every_item()
    {
        var original = Batch(5);
        var frame = Frame(original, 42);
        Assert.Equal(WalFrame.FormatVersion2, frame[2]);

        var decoded = Decode(frame);
        Assert.Equal(WalOperation.Batch, decoded.Operation);
        Assert.Equal(new Lsn(42), decoded.Lsn);
        Assert.Equal((original.Id, original.Service, original.Timestamp, original.Timestamp.Offset, original.RequestId, original.UserId, original.Reason),
            (decoded.Id, decoded.Service, decoded.Timestamp, decoded.Timestamp.Offset, decoded.RequestId, decoded.UserId, decoded.Reason));
        Assert.Equal(original.Metadata, decoded.Metadata);
        Assert.Equal((0, "", "", "", JsonValueKind.Undefined, (Lsn?)null),
            (decoded.Version, decoded.DtoType, decoded.EntityId, decoded.ReplayKey, decoded.Payload.ValueKind, decoded.ExpectedLsn));
        Assert.Equal(original.Items!.Count, decoded.Items!.Count);
        for (var i = 0; i < original.Items.Count; i++)
        {
            var (a, b) = (original.Items[i], decoded.Items[i]);
            Assert.Equal((a.Id, a.Operation, a.Version, a.DtoType, a.EntityId, a.ReplayKey, a.ExpectedLsn),
                (b.Id, b.Operation, b.Version, b.DtoType, b.EntityId, b.ReplayKey, b.ExpectedLsn));
            Assert.Equal(a.Payload.ValueKind, b.Payload.ValueKind);
            if (a.Payload.ValueKind != JsonValueKind.Undefined)
            {
                Assert.Equal(a.Payload.GetRawText(), b.Payload.GetRawText());
            }
        }
    }

    [Fact]
    public void A_batch_with_its_request_fingerprint_is_kind_2_and_round_trips_and_one_without_is_still_kind_1()
    {
        // Kind 2 carries the request's fingerprint, so the outcome a replay stores still refuses the id on another request.
        var fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("batch"u8));
        var plain = Batch(2);
        var withFingerprint = plain with { Fingerprint = fingerprint };

        var kind1 = Frame(plain, 9);
        var kind2 = Frame(withFingerprint, 9);

        Assert.Equal(1, kind1[WalFrame.HeaderSize]);
        Assert.Equal(2, kind2[WalFrame.HeaderSize]);
        Assert.Equal(kind1.Length + 32, kind2.Length);
        Assert.Equal(kind1.AsSpan(WalFrame.HeaderSize + 1).ToArray(), kind2.AsSpan(WalFrame.HeaderSize + 1 + 32).ToArray()); // the rest unchanged
        Assert.Null(Decode(kind1).Fingerprint);
        var decoded = Decode(kind2);
        Assert.Equal(fingerprint, decoded.Fingerprint);
        Assert.Equal((plain.Id, plain.RequestId, plain.Items!.Count), (decoded.Id, decoded.RequestId, decoded.Items!.Count));

        // Cut inside the fingerprint (a body that passed its CRC but lies): refused, never read as a shorter batch.
        var body = kind2.AsSpan(WalFrame.HeaderSize, 1 + 20).ToArray();
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(body, 9, WalFrame.FormatVersion2));
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(plain with { Fingerprint = "not-hex" }, 1 << 20, out _));
    }

    [Fact]
    public void A_batch_with_no_user_reason_or_metadata_round_trips()
    {
        var original = Batch(1) with { UserId = null, Reason = null, Metadata = new Dictionary<string, string>() };
        var decoded = Decode(Frame(original, 7));
        Assert.Null(decoded.UserId);
        Assert.Null(decoded.Reason);
        Assert.Empty(decoded.Metadata);
        Assert.Single(decoded.Items!);
    }

    [Fact]
    public void Entity_changes_expand_a_batch_into_one_record_per_item_with_the_batch_lsn_and_context()
    {
        var batch = Batch(3);
        var changes = batch.EntityChanges();
        Assert.Equal(3, changes.Count);
        for (var i = 0; i < 3; i++)
        {
            var (item, change) = (batch.Items![i], changes[i]);
            Assert.Equal((item.Id, batch.Lsn, item.Operation, item.Version, item.DtoType, item.EntityId, item.ReplayKey, item.ExpectedLsn),
                (change.Id, change.Lsn, change.Operation, change.Version, change.DtoType, change.EntityId, change.ReplayKey, change.ExpectedLsn));
            Assert.Equal((batch.RequestId, batch.UserId, batch.Reason, batch.Timestamp, batch.Service),
                (change.RequestId, change.UserId, change.Reason, change.Timestamp, change.Service));
            Assert.Null(change.Items);
        }

        var single = WalRecordCodecTestsData.Single();
        Assert.Same(single, Assert.Single(single.EntityChanges()));
    }

    // The format-1 body the code before batches wrote for a fixed record: a single-entity record must still be written
    // byte for byte the same (so a WAL without batches stays readable by older builds) and that body must still decode.
    // (The WAL that nv load wrote at commit db3eb26, tests/integration/Fixtures/store-db3eb26, is decoded end to end by
    // the integration tests' BatchMigrationTests.)
    [Fact]
    public void Single_entity_records_are_still_format_1_byte_for_byte_and_old_bodies_decode()
    {
        var record = WalRecordCodecTestsData.Single();
        var frame = WalRecordCodec.EncodeFrame(record, 1 << 20, out var crc);
        Assert.Equal(WalRecordCodecTestsData.SingleBodyHex, Convert.ToHexStringLower(frame.AsSpan(WalFrame.HeaderSize)));
        Assert.Equal(WalRecordCodecTestsData.SingleBodyCrc, crc);
        WalFrame.Seal(frame, 42, crc);
        Assert.Equal(WalFrame.FormatVersion1, frame[2]);

        var decoded = WalRecordCodec.DecodeBody(Convert.FromHexString(WalRecordCodecTestsData.SingleBodyHex), 42, WalFrame.FormatVersion1);
        Assert.Equal((record.Id, record.Operation, record.DtoType, record.EntityId, record.RequestId, record.ExpectedLsn, record.Version),
            (decoded.Id, decoded.Operation, decoded.DtoType, decoded.EntityId, decoded.RequestId, decoded.ExpectedLsn, decoded.Version));
        Assert.Equal(record.Payload.GetRawText(), decoded.Payload.GetRawText());
        Assert.Null(decoded.Items);
        Assert.Equal(record.Id, Decode(frame).Id);
    }

    [Fact]
    public void Every_single_bit_flip_of_a_batch_frame_is_detected()
    {
        var frame = Frame(Batch(2), 9);
        for (var bit = 0; bit < frame.Length * 8; bit++)
        {
            var copy = (byte[])frame.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(WalFrame.TryValidate(copy, out _, out _, out _), $"bit {bit} flip not detected");
        }
    }

    [Fact]
    public void A_batch_frame_cut_anywhere_is_refused_whole()
    {
        var frame = Frame(Batch(3), 9);
        for (var length = 0; length < frame.Length; length++)
        {
            Assert.False(WalFrame.TryValidate(frame.AsSpan(0, length), out _, out _, out _), $"length {length} accepted");
        }
    }

    [Theory]
    [InlineData("item-count-zero")]
    [InlineData("item-count-huge")]
    [InlineData("nested-batch-operation")]
    [InlineData("unknown-kind")]
    [InlineData("trailing-byte")]
    [InlineData("truncated-body")]
    public void A_batch_body_that_passes_its_crc_but_lies_does_not_decode(string damage)
    {
        var frame = Frame(Batch(2), 9);
        var body = frame.AsSpan(WalFrame.HeaderSize).ToArray();
        var itemCountOffset = ItemCountOffset(body);
        byte[] damaged = damage switch
        {
            "item-count-zero" => Patch(body, itemCountOffset, 0),
            "item-count-huge" => Patch(body, itemCountOffset, 1_000_000),
            "nested-batch-operation" => PatchByte(body, itemCountOffset + 4 + 16, (byte)WalOperation.Batch),
            "unknown-kind" => PatchByte(body, 0, 9),
            "trailing-byte" => [.. body, 0],
            _ => body[..^3],
        };

        // Sealed again with a valid CRC: this is damage the CRC cannot see (or a bug), and decode must still refuse it.
        var resealed = new byte[WalFrame.HeaderSize + damaged.Length];
        resealed[2] = WalFrame.FormatVersion2;
        damaged.CopyTo(resealed.AsSpan(WalFrame.HeaderSize));
        WalFrame.Seal(resealed, 9, Crc32C.Compute(damaged));
        Assert.True(WalFrame.TryValidate(resealed, out var sequence, out var decodedBody, out _));
        var bodyBytes = decodedBody.ToArray();
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(bodyBytes, sequence, WalFrame.FormatVersion2));
    }

    [Fact]
    public void A_body_decoded_in_the_wrong_format_or_an_unknown_format_is_refused()
    {
        var batch = Frame(Batch(2), 9);
        var single = Frame(WalRecordCodecTestsData.Single(), 9);
        var batchBody = batch.AsSpan(WalFrame.HeaderSize).ToArray();
        var singleBody = single.AsSpan(WalFrame.HeaderSize).ToArray();
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(batchBody, 9, WalFrame.FormatVersion1));
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(singleBody, 9, WalFrame.FormatVersion2));
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(singleBody, 9, 3));

        // Magic, length and CRC come first: an unknown format byte under a CRC that does not cover it is damage; under one
        // that does, a frame a newer Nv wrote (refused as such, never cut as damage: WalFormatVersionTests).
        var unknown = (byte[])batch.Clone();
        unknown[2] = 3;
        Assert.Equal(FrameStatus.Damaged, WalFrame.Check(unknown, out _, out _, out var error));
        Assert.Equal("CRC-32C mismatch", error);
        var newer = Frame(Batch(2), 9);
        newer[2] = 3;
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(16), Crc32C.Append(Crc32C.Compute(newer.AsSpan(WalFrame.HeaderSize)), newer.AsSpan(0, 16)));
        Assert.Equal(FrameStatus.Newer, WalFrame.Check(newer, out var sequence, out _, out error));
        Assert.Equal((9L, "record format 3"), (sequence, error));
        Assert.False(WalFrame.TryValidate(newer, out _, out _, out _));
    }

    [Fact]
    public void A_batch_larger_than_the_record_limit_is_refused_before_anything_is_written()
    {
        var big = Batch(40);
        // A refusal of that record only (the pipeline answers 413 and goes on), with its whole size.
        var ex = Assert.Throws<WalRecordTooLargeException>(() => WalRecordCodec.EncodeFrame(big, 2048, out _));
        Assert.Equal((2048L, WalRecordCodec.EncodeFrame(big, 1 << 20, out _).Length - WalFrame.HeaderSize), (ex.MaxBytes, ex.SizeBytes));
    }

    [Fact]
    public void A_malformed_batch_record_is_refused_at_encode()
    {
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(Batch(1) with { Items = [] }, 1 << 20, out _));
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(Batch(1) with { DtoType = "Order" }, 1 << 20, out _));
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(Batch(1) with { Version = 1 }, 1 << 20, out _));
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(
            Batch(1) with { Items = [Batch(1).Items![0] with { Operation = WalOperation.Batch }] }, 1 << 20, out _));
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(WalRecordCodecTestsData.Single() with { Items = Batch(1).Items }, 1 << 20, out _));
    }

    private static int ItemCountOffset(byte[] body)
    {
        var offset = 1 + 16;
        offset = SkipString(body, offset) + 8 + 2; // service, timestamp
        offset = SkipString(body, offset); // requestId
        offset = SkipString(body, offset); // userId
        offset = SkipString(body, offset); // reason
        var metadata = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(offset));
        offset += 4;
        for (var i = 0; i < 2 * metadata; i++)
        {
            offset = SkipString(body, offset);
        }

        return offset;
    }

    private static int SkipString(byte[] body, int offset)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(offset));
        return offset + 4 + Math.Max(0, length);
    }

    private static byte[] Patch(byte[] body, int offset, int value)
    {
        var copy = (byte[])body.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    private static byte[] PatchByte(byte[] body, int offset, byte value)
    {
        var copy = (byte[])body.Clone();
        copy[offset] = value;
        return copy;
    }
}
