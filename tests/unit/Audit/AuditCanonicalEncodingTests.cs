using System.Buffers;
using System.Text;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Wal;
using static Nv.Unit.Tests.Audit.AuditTestData;

namespace Nv.Unit.Tests.Audit;

public sealed class AuditCanonicalEncodingTests
{
    // Recomputed independently by docs/audit_verify_reference.py; if this changes, every stored chain breaks.
    private const string GoldenHash = "3bb064d8292630830ccbb436d6c31b30095a72fa1c10a19f99609c1d02adfe4d";

    [Fact]
    public void Fixed_entry_has_the_golden_hash()
    {
        Assert.Equal(GoldenHash, AuditHash.Compute(FixedEntry()));
    }

    // Version 2 (WAL record hash appended); also recomputed by docs/audit_verify_reference.py.
    private const string GoldenHashV2 = "16c48083f8107245b6800b68a0874598983185fabe1c413dc7a4fab6042544dc";

    [Fact]
    public void Fixed_entry_in_version_2_has_the_golden_hash()
    {
        Assert.Equal(GoldenHashV2, AuditHash.Compute(FixedEntryV2()));
        var bytes = AuditCanonicalEncoding.Encode(FixedEntryV2());
        Assert.Equal(2, bytes[4]);
        // v2 = v1's 17 fields + the WAL record hash field (1 + 4 + 64 bytes).
        Assert.Equal(AuditCanonicalEncoding.Encode(FixedEntry())[5..], bytes[5..^69]);
    }

    // Version 3 (a sealed entry: key id and ciphertext, never the plaintext); also recomputed by
    // docs/audit_verify_reference.py --golden (line "v3") and by the explorer page (ProofCheckTests).
    private const string GoldenHashV3 = "9229caf25fae8fa996c13c3891cdb7f7ab0fd9137aead41e502fe9c3e2682432";

    [Fact]
    public void Fixed_entry_sealed_in_version_3_has_the_golden_hash_whatever_plaintext_a_reader_filled_in()
    {
        var sealedEntry = FixedEntryV2() with
        {
            EncodingVersion = 3,
            KeyId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
            Sealed = [.. Enumerable.Range(0, 32).Select(i => (byte)i)],
        };
        Assert.Equal(GoldenHashV3, AuditHash.Compute(sealedEntry));
        Assert.Equal(GoldenHashV3, AuditHash.Compute(sealedEntry with { Before = null, After = null, Changes = [] }));
        Assert.Equal(3, AuditCanonicalEncoding.Encode(sealedEntry)[4]);
    }

    [Fact]
    public void Encoding_is_stable_and_independent_of_member_and_metadata_order()
    {
        var reordered = FixedEntry() with
        {
            Before = Json("""{"lines":[1,2],"total":10.50,"status":"new"}"""),
            Metadata = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["a"] = "first", ["z"] = "last" },
        };
        Assert.Equal(AuditCanonicalEncoding.Encode(FixedEntry()), AuditCanonicalEncoding.Encode(reordered));
    }

    [Fact]
    public void Encoding_starts_with_magic_and_version()
    {
        var bytes = AuditCanonicalEncoding.Encode(FixedEntry());
        Assert.Equal("NVAE"u8.ToArray(), bytes[..4]);
        Assert.Equal(1, bytes[4]);
    }

    [Fact]
    public void Payload_json_is_canonical_text()
    {
        Assert.Equal("""{"a":[1,{"b":"\"\\\n\u0001é"}],"b":1.50}""", CanonicalJson.ToText(Json("""{ "b" : 1.50, "a" : [1, {"b":"\"\\\n\u0001\u00e9"}] }""")));
    }

    public static TheoryData<string> Mutations() =>
    [
        "id", "timestamp", "service", "category", "operation", "userId", "userIdNull", "dtoType", "entityId", "before", "beforeNull",
        "after", "afterNull", "changes", "reason", "metadata", "requestId", "lsn", "lsnNull", "sequence", "prevHash",
    ];

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Any_field_change_changes_the_hash(string field)
    {
        var entry = FixedEntry();
        var changed = field switch
        {
            "id" => entry with { Id = Guid.Parse("01890a5d-ac96-774b-bcce-b302099a8058") },
            "timestamp" => entry with { Timestamp = entry.Timestamp.AddTicks(1) },
            "service" => entry with { Service = "orderz" },
            "category" => entry with { Category = AuditCategory.SystemEvents },
            "operation" => entry with { Operation = "delete" },
            "userId" => entry with { UserId = "user-43" },
            "userIdNull" => entry with { UserId = null },
            "dtoType" => entry with { DtoType = "Invoice" },
            "entityId" => entry with { EntityId = "o-18" },
            "before" => entry with { Before = Json("""{"status":"new","total":10.5,"lines":[1,2]}""") },
            "beforeNull" => entry with { Before = null },
            "after" => entry with { After = Json("""{"total":12.00}""") },
            "afterNull" => entry with { After = null },
            "changes" => entry with { Changes = entry.Changes.Take(2).ToList() },
            "reason" => entry with { Reason = "payment received." },
            "metadata" => entry with { Metadata = new Dictionary<string, string> { ["a"] = "first" } },
            "requestId" => entry with { RequestId = "req-2" },
            "lsn" => entry with { Lsn = new Lsn(1235) },
            "lsnNull" => entry with { Lsn = null },
            "sequence" => entry with { Sequence = 8 },
            "prevHash" => entry with { PrevHash = new string('b', 64) },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };
        Assert.NotEqual(AuditHash.Compute(entry), AuditHash.Compute(changed));
    }

    [Fact]
    public void Absent_and_empty_string_are_different()
    {
        Assert.NotEqual(AuditHash.Compute(FixedEntry() with { Reason = null }), AuditHash.Compute(FixedEntry() with { Reason = "" }));
    }

    [Fact]
    public void Field_boundaries_cannot_be_shifted()
    {
        var a = FixedEntry() with { UserId = "ab", DtoType = "c" };
        var b = FixedEntry() with { UserId = "a", DtoType = "bc" };
        Assert.NotEqual(AuditHash.Compute(a), AuditHash.Compute(b));
    }

    [Fact]
    public void Hash_is_lowercase_hex_sha256()
    {
        var hash = AuditHash.Compute(FixedEntry());
        Assert.True(AuditHash.IsWellFormed(hash));
        Assert.Equal(64, AuditHash.Genesis.Length);
    }

    [Fact]
    public void Malformed_prev_hash_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => AuditHash.Compute(FixedEntry() with { PrevHash = "" }));
        Assert.Throws<ArgumentException>(() => AuditHash.Compute(FixedEntry() with { PrevHash = new string('A', 64) }));
    }

    [Fact]
    public void Timestamp_keeps_100ns_precision_in_utc()
    {
        var local = new DateTimeOffset(2025, 3, 14, 17, 9, 26, TimeSpan.FromHours(2)).AddTicks(5358979);
        Assert.Equal("2025-03-14T15:09:26.5358979Z", AuditCanonicalEncoding.FormatTimestamp(local));
        Assert.Equal(local, AuditCanonicalEncoding.ParseTimestamp("2025-03-14T15:09:26.5358979Z"));
    }

    public static TheoryData<long, int> Instants() => new()
    {
        { DateTime.MinValue.Ticks, 0 },
        { DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay, 0 },
        { new DateTime(999, 12, 31, 23, 59, 59, DateTimeKind.Utc).Ticks + 1, 0 },
        { new DateTime(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc).Ticks, 120 },
        { new DateTime(2025, 6, 1, 0, 30, 0, DateTimeKind.Utc).Ticks + 9_999_999, -330 },
        { 638_000_000_123_456_789, 60 },
    };

    [Theory]
    [MemberData(nameof(Instants))]
    public void Timestamp_and_id_fields_are_written_exactly_as_their_text_forms(long ticks, int offsetMinutes)
    {
        var offset = TimeSpan.FromMinutes(offsetMinutes);
        var timestamp = new DateTimeOffset(new DateTime(ticks, DateTimeKind.Unspecified), offset);
        var id = Guid.NewGuid();
        var fast = new ArrayBufferWriter<byte>();
        AuditCanonicalEncoding.WriteTimestamp(fast, timestamp);
        AuditCanonicalEncoding.WriteId(fast, id);
        var text = new ArrayBufferWriter<byte>();
        AuditCanonicalEncoding.WriteText(text, AuditCanonicalEncoding.FormatTimestamp(timestamp));
        AuditCanonicalEncoding.WriteText(text, AuditCanonicalEncoding.FormatId(id));

        Assert.Equal(Convert.ToHexString(text.WrittenSpan), Convert.ToHexString(fast.WrittenSpan));
    }

    [Fact]
    public void Debug_dump_is_readable()
    {
        // Not an assertion of format details: just that the encoding is UTF-8 text fields around binary lengths.
        var text = Encoding.UTF8.GetString(AuditCanonicalEncoding.Encode(FixedEntry()));
        Assert.Contains("payment received", text, StringComparison.Ordinal);
        Assert.Contains("""{"a":"first","z":"last"}""", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(1337)]
    public void A_base64_field_is_the_text_field_of_its_base64_string_byte_for_byte(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        var direct = new System.Buffers.ArrayBufferWriter<byte>();
        AuditCanonicalEncoding.WriteBase64(direct, bytes);
        var viaString = new System.Buffers.ArrayBufferWriter<byte>();
        AuditCanonicalEncoding.WriteText(viaString, Convert.ToBase64String(bytes));
        Assert.Equal(viaString.WrittenSpan.ToArray(), direct.WrittenSpan.ToArray());
    }
}
