using System.Text.Json;
using Nv.Wal;
using Nv.Wal.Framing;

namespace Nv.Unit.Tests.Wal;

public sealed class WalRecordCodecTests
{
    private static WalRecord Full() => new()
    {
        Id = Guid.CreateVersion7(),
        Lsn = new Lsn(42),
        Service = "billing-ü",
        Version = 7,
        Timestamp = new DateTimeOffset(2024, 12, 31, 23, 59, 58, 123, TimeSpan.FromHours(2)).AddTicks(4567),
        Operation = WalOperation.Delete,
        DtoType = "Invoice",
        EntityId = "inv:42/x",
        Payload = JsonDocument.Parse("""{ "a": [1, 2.5, "x"], "b": null, "c": { "d": true } }""").RootElement.Clone(),
        ReplayKey = "prod:billing:7:Invoice:inv:42/x",
        RequestId = "req-1",
        UserId = null,
        Reason = "cleanup ✓",
        Metadata = new Dictionary<string, string> { ["ip"] = "10.0.0.1", ["empty"] = "" },
        ExpectedLsn = new Lsn(41),
    };

    private static byte[] Frame(WalRecord record, long lsn)
    {
        var frame = WalRecordCodec.EncodeFrame(record, 1 << 20, out var crc);
        WalFrame.Seal(frame, lsn, crc);
        return frame;
    }

    [Fact]
    public void Round_trip_preserves_every_field()
    {
        var original = Full();
        var frame = Frame(original, 42);
        Assert.True(WalFrame.TryValidate(frame, out var seq, out var body, out _));
        var decoded = WalRecordCodec.DecodeBody(body, seq);

        Assert.Equal(original.Id, decoded.Id);
        Assert.Equal(new Lsn(42), decoded.Lsn);
        Assert.Equal(original.Service, decoded.Service);
        Assert.Equal(original.Version, decoded.Version);
        Assert.Equal(original.Timestamp, decoded.Timestamp);
        Assert.Equal(original.Timestamp.Offset, decoded.Timestamp.Offset);
        Assert.Equal(original.Timestamp.Ticks, decoded.Timestamp.Ticks);
        Assert.Equal(original.Operation, decoded.Operation);
        Assert.Equal(original.DtoType, decoded.DtoType);
        Assert.Equal(original.EntityId, decoded.EntityId);
        Assert.Equal(original.Payload.GetRawText(), decoded.Payload.GetRawText());
        Assert.Equal(original.ReplayKey, decoded.ReplayKey);
        Assert.Equal(original.RequestId, decoded.RequestId);
        Assert.Null(decoded.UserId);
        Assert.Equal(original.Reason, decoded.Reason);
        Assert.Equal(original.Metadata, decoded.Metadata);
        Assert.Equal(original.ExpectedLsn, decoded.ExpectedLsn);
    }

    [Fact]
    public void Round_trip_of_nulls_and_undefined_payload()
    {
        var original = Full() with { UserId = null, Reason = null, ExpectedLsn = null, Payload = default, Metadata = new Dictionary<string, string>() };
        var frame = Frame(original, 1);
        Assert.True(WalFrame.TryValidate(frame, out var seq, out var body, out _));
        var decoded = WalRecordCodec.DecodeBody(body, seq);
        Assert.Null(decoded.Reason);
        Assert.Null(decoded.ExpectedLsn);
        Assert.Equal(JsonValueKind.Undefined, decoded.Payload.ValueKind);
        Assert.Empty(decoded.Metadata);
    }

    [Fact]
    public void Every_single_bit_flip_is_detected()
    {
        var frame = Frame(Full(), 42);
        for (var bit = 0; bit < frame.Length * 8; bit++)
        {
            var copy = (byte[])frame.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(WalFrame.TryValidate(copy, out _, out _, out _), $"bit {bit} flip not detected");
        }
    }

    [Fact]
    public void Truncated_frame_is_detected()
    {
        var frame = Frame(Full(), 42);
        for (var length = 0; length < frame.Length; length++)
        {
            Assert.False(WalFrame.TryValidate(frame.AsSpan(0, length), out _, out _, out _), $"length {length} accepted");
        }
    }

    [Fact]
    public void Oversized_record_is_rejected()
    {
        var big = Full() with { Reason = new string('x', 5000) };
        Assert.Throws<WalRecordTooLargeException>(() => WalRecordCodec.EncodeFrame(big, 1024, out _));
    }

    [Fact]
    public void Crc32C_matches_the_standard_check_value_in_hardware_and_software()
    {
        var data = "123456789"u8.ToArray();
        Assert.Equal(0xE3069283u, Crc32C.Compute(data));
        Assert.Equal(0xE3069283u, ~Crc32C.Software(~0u, data));
    }
}
