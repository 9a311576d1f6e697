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
    public void An_audit_event_record_round_trips_with_an_empty_dtoType()
    {
        var original = Full() with { Operation = WalOperation.AuditEvent, DtoType = "", ExpectedLsn = null };
        var frame = Frame(original, 42);
        Assert.True(WalFrame.TryValidate(frame, out var seq, out var body, out _));
        var decoded = WalRecordCodec.DecodeBody(body, seq);
        Assert.Equal((WalOperation.AuditEvent, ""), (decoded.Operation, decoded.DtoType));
        Assert.Equal(original.Payload.GetRawText(), decoded.Payload.GetRawText());
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

    // A record written by the build before request fingerprints (format 1, no fingerprint): every existing WAL holds these.
    private const string FormatOneRecordWithoutFingerprint =
        "4e5601008a0000000700000000000000259ffd58b2a19001d4c35f7e8a9b0c1d2e3f4a5b020000006e760100000000909cdc914fdf080000020400000041636374" +
        "020000006131100000006465763a6e763a313a416363743a613102000000703105000000616c696365ffffffff0e0000007b2262616c616e6365223a35307d" +
        "01000000060000007469636b657403000000542d31010300000000000000";

    private static WalRecord GoldenRecord() => new()
    {
        Id = new Guid("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
        Lsn = new Lsn(7),
        Service = "nv",
        Version = 1,
        Timestamp = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero),
        Operation = WalOperation.Update,
        DtoType = "Acct",
        EntityId = "a1",
        Payload = JsonDocument.Parse("""{"balance":50}""").RootElement.Clone(),
        ReplayKey = "dev:nv:1:Acct:a1",
        RequestId = "p1",
        UserId = "alice",
        Metadata = new Dictionary<string, string> { ["ticket"] = "T-1" },
        ExpectedLsn = new Lsn(3),
    };

    private const string Fingerprint = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Fact]
    public void A_record_written_before_fingerprints_reads_unchanged_and_encodes_to_the_same_bytes()
    {
        var frame = Convert.FromHexString(FormatOneRecordWithoutFingerprint);
        Assert.True(WalFrame.TryValidate(frame, out var seq, out var body, out _));
        var decoded = WalRecordCodec.DecodeBody(body, seq);

        Assert.Null(decoded.Fingerprint);
        Assert.Equal(new Lsn(3), decoded.ExpectedLsn);
        Assert.Equal("alice", decoded.UserId);
        Assert.Equal("""{"balance":50}""", decoded.Payload.GetRawText());
        Assert.Equal(FormatOneRecordWithoutFingerprint, Convert.ToHexStringLower(Frame(GoldenRecord(), 7)));
    }

    [Fact]
    public void Round_trip_preserves_the_fingerprint()
    {
        foreach (var expected in new Lsn?[] { new Lsn(41), null })
        {
            var original = Full() with { Fingerprint = Fingerprint, ExpectedLsn = expected };
            Assert.True(WalFrame.TryValidate(Frame(original, 42), out var seq, out var body, out _));
            var decoded = WalRecordCodec.DecodeBody(body, seq);

            Assert.Equal(Fingerprint, decoded.Fingerprint);
            Assert.Equal(expected, decoded.ExpectedLsn);
            Assert.Equal(original.Metadata, decoded.Metadata);
        }
    }

    [Theory]
    [InlineData("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08")] // not lowercase
    [InlineData("9f86d081")]                                                         // too short
    [InlineData("zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")] // not hex
    public void A_malformed_fingerprint_is_refused_before_anything_is_written(string fingerprint) =>
        Assert.Throws<ArgumentException>(() => WalRecordCodec.EncodeFrame(Full() with { Fingerprint = fingerprint }, 1 << 20, out _));

    [Fact]
    public void A_damaged_fingerprint_trailer_or_unknown_flags_do_not_parse()
    {
        var body = Convert.FromHexString(FormatOneRecordWithoutFingerprint)[WalFrame.HeaderSize..];
        var flags = body.Length - 9; // flags byte, then the 8-byte expected LSN

        var unknownFlag = (byte[])body.Clone();
        unknownFlag[flags] |= 0x04;
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(unknownFlag, 7));

        var missingTrailer = (byte[])body.Clone();
        missingTrailer[flags] |= 0x02; // says a fingerprint follows; none does
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(missingTrailer, 7));

        var withFingerprint = WalRecordCodec.EncodeFrame(GoldenRecord() with { Fingerprint = Fingerprint }, 1 << 20, out _)[WalFrame.HeaderSize..];
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody(withFingerprint.AsSpan(0, withFingerprint.Length - 1), 7)); // trailer cut short
        Assert.Throws<FormatException>(() => WalRecordCodec.DecodeBody([.. withFingerprint, 0], 7)); // trailing garbage
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
