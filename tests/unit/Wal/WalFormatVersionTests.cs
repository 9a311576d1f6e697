using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using Nv.Wal.Framing;

namespace Nv.Unit.Tests.Wal;

/// <summary>Data a newer Nv wrote (a frame format, record or item flags, a batch kind, a watermark checkpoint, geometry or
/// LSN jump list version this build does not know) is refused as written by a newer Nv in every recovery mode, read-only too,
/// and left byte for byte as it was; only intact data counts as newer (magic and CRC first): the same bytes with a bad CRC stay
/// damage. On real WAL files.</summary>
public sealed class WalFormatVersionTests : WalTestBase
{
    public static TheoryData<WalRecoveryMode> Modes => new(Enum.GetValues<WalRecoveryMode>());

    private string Segment => Path.Combine(LogDirectory, "nv.log.0");

    private async Task WriteLogAsync(int count = 10)
    {
        await using var wal = Open();
        await AppendFlushed(wal, count);
        wal.AdvanceApplied(new Lsn(3));
        wal.AdvanceAudited(new Lsn(3));
    }

    // Rewrites the frame of LSN `lsn` in segment 0 in place: `change` edits the frame, then (unless `keepCrc`) the Nv CRC and
    // FasterLog's per-entry checksum are made to match, as the build that wrote it would have.
    private unsafe void Rewrite(long lsn, int count, Action<byte[]> change, bool keepCrc = false)
    {
        var bytes = File.ReadAllBytes(Segment);
        var (start, end) = LocateFrames(Segment, count)[(int)lsn - 1];
        var frame = bytes.AsSpan((int)start + 12, (int)(end - start - 12)).ToArray();
        change(frame);
        if (!keepCrc)
        {
            var crc = Crc32C.Append(Crc32C.Compute(frame.AsSpan(WalFrame.HeaderSize)), frame.AsSpan(0, 16));
            BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(16), crc);
        }

        frame.CopyTo(bytes, start + 12);
        if (!keepCrc)
        {
            fixed (byte* entry = &bytes[start])
            {
                *(ulong*)entry = FASTER.core.Utility.XorBytes(entry + 8, frame.Length + 4);
            }
        }

        File.WriteAllBytes(Segment, bytes);
    }

    private Dictionary<string, string> Snapshot() => System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories)
        .Where(f => Path.GetFileName(f) != "nv.lock")
        .ToDictionary(f => Path.GetRelativePath(Directory, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    // Every recovery mode refuses it (and a read-only open), naming what is newer; nothing in the directory changes.
    private void AssertRefusedUnchanged(string found, string supported)
    {
        var before = Snapshot();
        foreach (var readOnly in new[] { false, true })
        {
            foreach (var mode in Enum.GetValues<WalRecoveryMode>())
            {
                var options = Options(mode);
                options.ReadOnly = readOnly;
                var ex = Assert.Throws<WalFormatTooNewException>(() => WriteAheadLog.Open(options));
                Assert.Contains("written by a newer Nv (" + found, ex.Message, StringComparison.Ordinal);
                Assert.Contains("this build reads up to " + supported, ex.Message, StringComparison.Ordinal);
                Assert.Equal(before, Snapshot());
            }
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(10)] // the last record: a torn tail would be cut, a newer record never is
    public async Task A_record_in_a_newer_frame_format_is_refused_in_every_mode_and_left_as_it_is(long lsn)
    {
        await WriteLogAsync();
        Rewrite(lsn, 10, frame => frame[2] = 3);

        AssertRefusedUnchanged("record format 3, LSN " + lsn, "record format 2");
    }

    [Fact]
    public async Task A_frame_with_header_flags_only_a_newer_nv_sets_is_refused()
    {
        await WriteLogAsync();
        Rewrite(4, 10, frame => frame[3] = 0x01);

        AssertRefusedUnchanged("record format 1 with header flags 0x01, LSN 4", "record format 2");
    }

    [Fact]
    public async Task A_newer_format_byte_whose_crc_does_not_match_is_damage_not_a_newer_format()
    {
        await WriteLogAsync();
        Rewrite(5, 10, frame => frame[2] = 3, keepCrc: true);

        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Contains("CRC-32C mismatch", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(10)]
    public async Task A_record_with_record_flags_only_a_newer_nv_sets_is_refused_at_open_not_at_replay(long lsn)
    {
        await WriteLogAsync();
        Rewrite(lsn, 10, frame => frame[^9] |= 0x80); // Record(i): flags u8 + expected LSN i64 end the body

        AssertRefusedUnchanged("record format 1 with record flags 0x80, LSN " + lsn, "record flags 0x1f");
    }

    [Fact]
    public async Task A_batch_item_with_flags_only_a_newer_nv_sets_is_refused()
    {
        await using (var wal = Open())
        {
            await wal.AppendAsync(Record(0), Ct);
            await wal.AppendAsync(WalBatchRecordCodecTests.Batch(3) with { Lsn = Lsn.None }, Ct);
            await wal.AppendAsync(Record(2), Ct);
            await wal.FlushAsync(wal.LastLsn, Ct);
        }

        Rewrite(2, 3, frame => frame[^9] |= 0x40); // the last item's flags, before its expected LSN

        AssertRefusedUnchanged("record format 2 with batch item flags 0x40, LSN 2", "batch item flags 0x07");
    }

    [Fact]
    public async Task A_batch_of_a_kind_only_a_newer_nv_writes_is_refused()
    {
        await using (var wal = Open())
        {
            await wal.AppendAsync(WalBatchRecordCodecTests.Batch(2) with { Lsn = Lsn.None }, Ct);
            await wal.FlushAsync(wal.LastLsn, Ct);
        }

        Rewrite(1, 1, frame => frame[WalFrame.HeaderSize] = 9);

        AssertRefusedUnchanged("record format 2 of kind 9, LSN 1", "kind 2");
    }

    [Fact]
    public void A_sealed_payload_of_a_newer_version_is_refused()
    {
        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var record = Record(0) with { PayloadKeyId = key.Id, Subject = "Order/order-0" };
        var frame = WalRecordCodec.EncodeFrame(record, 4096, new WalPayloadProtection(keys, false), out _, out _);
        var body = frame.AsSpan(WalFrame.HeaderSize);
        var sealedAt = body.IndexOf(key.Id.ToByteArray(bigEndian: true)) + 16;
        Assert.Null(WalRecordCodec.NewerFeature(body, WalFrame.FormatVersion1));
        body[sealedAt] = 2; // the sealed value's version

        Assert.Equal(("sealed payload version 2 with flags 0x00", "sealed payload version 1 with flags 0x01"),
            WalRecordCodec.NewerFeature(body, WalFrame.FormatVersion1));
    }

    [Fact]
    public async Task Every_record_this_build_writes_reads_as_nothing_newer()
    {
        var keys = new InMemoryDataKeys();
        var key = keys.Add();
        var sealedEvent = Record(1) with
        {
            Operation = WalOperation.AuditEvent, PayloadKeyId = key.Id, Subject = "Order/order-1", EventCategory = "system-events",
            EventOperation = "x", Fingerprint = new string('a', 64), ExpectedLsn = new Lsn(4),
        };
        var batch = WalBatchRecordCodecTests.Batch(4) with
        {
            Fingerprint = new string('b', 64),
            Items = [.. WalBatchRecordCodecTests.Batch(4).Items!.Select((item, i) => i % 2 == 0
                ? item with { PayloadKeyId = key.Id, Subject = "Order/x" + i, Payload = item.Payload.ValueKind == JsonValueKind.Undefined ? JsonDocument.Parse("{}").RootElement : item.Payload }
                : item)],
        };
        foreach (var (record, compress) in new[] { (Record(0), false), (Record(3), true), (sealedEvent, true), (sealedEvent, false), (WalBatchRecordCodecTests.Batch(5), true), (batch, false), (batch, true) })
        {
            var frame = WalRecordCodec.EncodeFrame(record, 1 << 20, new WalPayloadProtection(keys, compress), out var crc, out _);
            WalFrame.Seal(frame, 7, crc);
            Assert.Equal(FrameStatus.Valid, WalFrame.Check(frame, out _, out var body, out _));
            Assert.Null(WalRecordCodec.NewerFeature(body, WalFrame.FormatOf(frame)));
        }

        await using var wal = Open();
        Assert.Equal(WalState.Open, wal.State);
    }

    [Fact]
    public async Task A_watermark_checkpoint_of_a_newer_version_is_refused_and_never_overwritten()
    {
        await WriteLogAsync();
        var path = Path.Combine(Directory, "watermarks.ckpt");
        var newer = new byte[56]; // version 2, longer: magic and version first, the CRC of all before it 8 bytes from the end
        BinaryPrimitives.WriteUInt32LittleEndian(newer, 0x4D57564E);
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(4), 2);
        BinaryPrimitives.WriteInt64LittleEndian(newer.AsSpan(8), 7);
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(48), Crc32C.Compute(newer.AsSpan(0, 48)));
        File.WriteAllBytes(path, newer);

        AssertRefusedUnchanged("watermark checkpoint version 2", "watermark checkpoint version 1");
    }

    [Fact]
    public async Task A_watermark_checkpoint_claiming_a_newer_version_with_a_bad_crc_is_corrupt_and_ignored()
    {
        await WriteLogAsync();
        var path = Path.Combine(Directory, "watermarks.ckpt");
        var bytes = File.ReadAllBytes(path);
        bytes[4] = 2; // the version, without its CRC

        File.WriteAllBytes(path, bytes);

        await using var wal = Open();
        Assert.Equal(Lsn.None, wal.AuditedLsn);
        Assert.Contains("watermark checkpoint ignored", wal.Recovery.Detail, StringComparison.Ordinal);
    }

    // A version 2 LSN jump list, longer than version 1 (a field after the jumps): magic and version first, the CRC-32C of
    // every byte before it in its last 4 bytes. `staleCrc` keeps the CRC of the bytes before the version changed.
    private async Task WriteNewerJumpListAsync(bool staleCrc)
    {
        await WriteLogAsync();
        await using (var wal = Open())
        {
            await wal.ContinueAfterAsync(new Lsn(40), Ct);
        }

        var path = Path.Combine(Directory, Nv.Wal.Recovery.LsnJumps.FileName);
        var v1 = File.ReadAllBytes(path);
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(v1.AsSpan(4)));
        var newer = new byte[v1.Length + 8];
        v1.AsSpan(0, v1.Length - 4).CopyTo(newer);
        BinaryPrimitives.WriteInt64LittleEndian(newer.AsSpan(v1.Length - 4), 77);
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(newer.Length - 4), Crc32C.Compute(newer.AsSpan(0, newer.Length - 4)));
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(4), 2);
        if (!staleCrc)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(newer.Length - 4), Crc32C.Compute(newer.AsSpan(0, newer.Length - 4)));
        }

        File.WriteAllBytes(path, newer);
    }

    [Fact]
    public async Task An_lsn_jump_list_of_a_newer_version_is_refused_in_every_mode_and_left_as_it_is()
    {
        await WriteNewerJumpListAsync(staleCrc: false);

        AssertRefusedUnchanged("LSN jump list version 2", "LSN jump list version 1");
    }

    [Fact]
    public async Task An_lsn_jump_list_claiming_a_newer_version_with_a_bad_crc_stays_damage_in_every_mode()
    {
        await WriteNewerJumpListAsync(staleCrc: true);
        var before = Snapshot();
        foreach (var readOnly in new[] { false, true })
        {
            foreach (var mode in Enum.GetValues<WalRecoveryMode>())
            {
                var options = Options(mode);
                options.ReadOnly = readOnly;
                var ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(options));
                Assert.Contains("fails its CRC-32C", ex.Message, StringComparison.Ordinal);
                Assert.Equal(before, Snapshot());
            }
        }
    }

    [Fact]
    public async Task A_geometry_file_of_a_newer_version_is_refused_and_left_as_it_is()
    {
        await WriteLogAsync();
        File.WriteAllText(Path.Combine(Directory, "geometry"), "nv-wal-geometry/v2\nsegment-bits: 16\npage-bits: 12\nsector-bits: 9\n");

        AssertRefusedUnchanged("WAL geometry version 2", "WAL geometry version 1");
    }

    [Fact]
    public async Task A_damaged_geometry_file_is_still_reported_as_damaged()
    {
        await WriteLogAsync();
        File.WriteAllText(Path.Combine(Directory, "geometry"), "nv-wal-geometry/vX\nsegment-bits: 16\n");

        var ex = Assert.Throws<WalConfigurationException>(() => Open());
        Assert.Contains("damaged", ex.Message, StringComparison.Ordinal);
    }
}
