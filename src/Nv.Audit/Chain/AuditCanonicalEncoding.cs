using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nv.Audit.Chain;

/// <summary>The canonical, versioned byte encoding of an audit entry that the hash chain is computed over.</summary>
/// <remarks>Specified in docs/audit-hash-chain.md so that an external verifier can reproduce it. Every field except
/// <see cref="AuditEntry.Hash"/> is encoded, in a fixed order, each as a length-prefixed UTF-8 field. Version 1 has
/// 17 fields; version 2 (written since the Merkle tree, issue 6) appends an 18th, the WAL record hash; version 3
/// (encryption at rest, issue 16) appends a 19th and 20th, the data key id and the sealed data (standard base64), and for
/// a sealed entry encodes before and after as absent and changes as <c>[]</c>: it commits to the ciphertext, never to the
/// plaintext. Changing anything here breaks every stored chain: add a new version instead.</remarks>
internal static class AuditCanonicalEncoding
{
    /// <summary>The encoding version new entries are written with, the 5th byte of the encoding.</summary>
    public const byte Version = 2;

    /// <summary>The first version (no WAL record hash); entries stored with it stay verifiable.</summary>
    public const byte Version1 = 1;

    /// <summary>The version of sealed entries (encryption at rest) and of every later entry of their chain: version 2 plus
    /// the data key id and the sealed data.</summary>
    public const byte Version3 = 3;

    /// <summary>The newest version this build writes and verifies.</summary>
    public const byte LatestVersion = Version3;

    /// <summary>Number of fields the newest encoding has (version 1 has 17, version 2 has 18).</summary>
    public const int FieldCount = 20;

    /// <summary>The timestamp format: UTC, 100 ns precision, fixed width (so text order is time order).</summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    private static ReadOnlySpan<byte> Magic => "NVAE"u8;

    /// <summary>The version <paramref name="entry"/> is encoded with: its own, or <see cref="Version"/> when not yet assigned.</summary>
    public static byte VersionOf(AuditEntry entry) =>
        entry.EncodingVersion == 0 ? LeastVersionOf(entry) : checked((byte)entry.EncodingVersion);

    /// <summary>The oldest version that can hold <paramref name="entry"/>, whatever version it carries (a sink appending it
    /// takes the newer of this and its chain's).</summary>
    public static byte LeastVersionOf(AuditEntry entry) => entry.KeyId is null ? Version : Version3;

    /// <summary>Writes the canonical bytes of <paramref name="entry"/> (including Sequence and PrevHash, excluding Hash).</summary>
    public static void Write(AuditEntry entry, ArrayBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Write(entry, VersionOf(entry), entry.Sequence, entry.PrevHash, output, default);
    }

    /// <summary>Writes the canonical bytes of <paramref name="entry"/> as if it had the given version, sequence and
    /// previous hash (the sink links entries without copying them).</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="version">1, 2 or 3.</param>
    /// <param name="sequence">Its position in the chain.</param>
    /// <param name="prevHash">The previous entry's hash.</param>
    /// <param name="output">Where to write.</param>
    /// <param name="fields">When not empty (2 × <see cref="FieldCount"/> long), receives each field's (start, length) of
    /// its UTF-8 value inside <paramref name="output"/>'s written bytes; length −1 when absent. Lets the store bind
    /// column values straight from the encoding instead of encoding them again.</param>
    public static void Write(AuditEntry entry, byte version, long sequence, string prevHash, ArrayBufferWriter<byte> output, Span<int> fields)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (version is not (Version1 or Version or Version3))
        {
            throw new ArgumentException($"Unknown audit encoding version {version}.", nameof(version));
        }

        if (version == Version1 && entry.WalRecordHash is not null)
        {
            throw new ArgumentException("Encoding version 1 cannot hold a WAL record hash.", nameof(entry));
        }

        if (version < Version3 && (entry.KeyId is not null || entry.Sealed is not null))
        {
            throw new ArgumentException($"Encoding version {version} cannot hold a sealed entry.", nameof(entry));
        }

        if (entry.KeyId is null && entry.Sealed is not null)
        {
            throw new ArgumentException("Sealed data needs the id of its key.", nameof(entry));
        }

        // A sealed entry commits to its ciphertext: whatever plaintext a reader filled in is not part of it.
        var isSealed = entry.KeyId is not null;

        var f = new FieldWriter(output, fields);
        output.Write(Magic);
        output.Write<byte>([version]);
        f.Id(entry.Id);
        f.Timestamp(entry.Timestamp);
        f.Text(entry.Service);
        f.Text(AuditCategoryNames.ToName(entry.Category));
        f.Text(entry.Operation);
        f.Text(entry.UserId);
        f.Text(entry.DtoType);
        f.Text(entry.EntityId);
        f.Json(isSealed ? null : entry.Before);
        f.Json(isSealed ? null : entry.After);
        f.Field(static (changes, o) => CanonicalJson.WriteChanges(changes, o), isSealed ? [] : entry.Changes);
        f.Text(entry.Reason);
        f.Field(static (metadata, o) => CanonicalJson.WriteStringMap(metadata, o), entry.Metadata);
        f.Text(entry.RequestId);
        f.Number(entry.Lsn?.Value);
        f.Number(sequence);
        f.Text(prevHash);
        if (version >= Version)
        {
            f.Text(entry.WalRecordHash);
        }

        if (version >= Version3)
        {
            f.Text(entry.KeyId?.ToString("D"));
            if (entry.Sealed is { } sealedBytes)
            {
                f.Base64(sealedBytes);
            }
            else
            {
                f.Text(null);
            }
        }
    }

    /// <summary>Returns the canonical bytes of <paramref name="entry"/>.</summary>
    public static byte[] Encode(AuditEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        Write(entry, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The id as stored and encoded: 36 lowercase characters with hyphens.</summary>
    public static string FormatId(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);

    /// <summary>The timestamp as stored and encoded, see <see cref="TimestampFormat"/>.</summary>
    public static string FormatTimestamp(DateTimeOffset timestamp) =>
        timestamp.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    /// <summary>Writes one field holding <paramref name="id"/> as <see cref="FormatId"/> does, without a string.</summary>
    public static void WriteId(ArrayBufferWriter<byte> output, Guid id) => new FieldWriter(output, default).Id(id);

    /// <summary>Writes one field holding <paramref name="timestamp"/> as <see cref="FormatTimestamp"/> does, without a string.</summary>
    public static void WriteTimestamp(ArrayBufferWriter<byte> output, DateTimeOffset timestamp) => new FieldWriter(output, default).Timestamp(timestamp);

    /// <summary>Parses a timestamp written by <see cref="FormatTimestamp"/>.</summary>
    public static DateTimeOffset ParseTimestamp(string text) =>
        new(DateTime.SpecifyKind(DateTime.ParseExact(text, TimestampFormat, CultureInfo.InvariantCulture), DateTimeKind.Utc));

    /// <summary>Writes one field: <c>0x00</c> when <paramref name="value"/> is null, else <c>0x01</c>, a 4-byte big-endian
    /// length and the UTF-8 bytes.</summary>
    public static void WriteText(ArrayBufferWriter<byte> output, string? value) => new FieldWriter(output, default).Text(value);

    /// <summary>Writes one text field holding the standard base64 of <paramref name="bytes"/> (as <see cref="WriteText"/>
    /// with <see cref="Convert.ToBase64String(byte[])"/> would).</summary>
    public static void WriteBase64(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => new FieldWriter(output, default).Base64(bytes);

    /// <summary>Writes one field holding canonical JSON, or absent.</summary>
    public static void WriteJson(ArrayBufferWriter<byte> output, JsonElement? value) => new FieldWriter(output, default).Json(value);

    /// <summary>Writes one field holding a canonical JSON object of strings.</summary>
    public static void WriteStringMap(ArrayBufferWriter<byte> output, IReadOnlyDictionary<string, string> map) =>
        new FieldWriter(output, default).Field(static (m, o) => CanonicalJson.WriteStringMap(m, o), map);

    /// <summary>Writes one field holding a decimal number, or absent.</summary>
    public static void WriteNumber(ArrayBufferWriter<byte> output, long? value) => new FieldWriter(output, default).Number(value);

    private delegate bool Utf8Format<in T>(T value, Span<byte> destination, out int written);

    /// <summary>Writes fields and, when asked, records where each value landed.</summary>
    private ref struct FieldWriter(ArrayBufferWriter<byte> output, Span<int> fields)
    {
        private readonly Span<int> _fields = fields;
        private int _next;

        public void Text(string? value)
        {
            if (value is null)
            {
                Absent();
                return;
            }

            var length = Encoding.UTF8.GetByteCount(value);
            var span = output.GetSpan(5 + length);
            span[0] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            Encoding.UTF8.GetBytes(value, span[5..]);
            Record(output.WrittenCount + 5, length);
            output.Advance(5 + length);
        }

        // Standard base64 (with padding) of the bytes, as UTF-8: what Text(Convert.ToBase64String(bytes)) writes, without
        // the string (a sealed entry's data or a WAL record's sealed payload: kilobytes per write).
        public void Base64(ReadOnlySpan<byte> bytes)
        {
            var length = System.Buffers.Text.Base64.GetMaxEncodedToUtf8Length(bytes.Length);
            var span = output.GetSpan(5 + length);
            span[0] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            if (System.Buffers.Text.Base64.EncodeToUtf8(bytes, span.Slice(5, length), out _, out var written) != OperationStatus.Done || written != length)
            {
                throw new FormatException("Could not encode a field as base64.");
            }

            Record(output.WrittenCount + 5, length);
            output.Advance(5 + length);
        }

        // The round-trip format of a UTC DateTime is exactly TimestampFormat (7 fraction digits, 'Z'), written as UTF-8.
        public void Timestamp(DateTimeOffset value) =>
            Formatted(value.UtcDateTime, 28, static (v, span, out n) => v.TryFormat(span, out n, "O", CultureInfo.InvariantCulture));

        // "D": 36 lowercase hex digits and hyphens, as FormatId.
        public void Id(Guid value) => Formatted(value, 36, static (v, span, out n) => v.TryFormat(span, out n, "D"));

        private void Formatted<T>(T value, int maxLength, Utf8Format<T> format)
        {
            var span = output.GetSpan(5 + maxLength);
            span[0] = 1;
            if (!format(value, span[5..], out var length))
            {
                throw new FormatException($"Could not format {value}.");
            }

            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            Record(output.WrittenCount + 5, length);
            output.Advance(5 + length);
        }

        public void Number(long? value)
        {
            if (value is not { } number)
            {
                Absent();
                return;
            }

            var span = output.GetSpan(5 + 20);
            span[0] = 1;
            number.TryFormat(span[5..], out var length, default, CultureInfo.InvariantCulture);
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            Record(output.WrittenCount + 5, length);
            output.Advance(5 + length);
        }

        public void Json(JsonElement? value)
        {
            if (value is not { } element)
            {
                Absent();
                return;
            }

            Field(static (e, o) => CanonicalJson.Write(e, o), element);
        }

        // Writes the presence byte and a length placeholder, the body, then patches the length in.
        public void Field<T>(Action<T, IBufferWriter<byte>> body, T state)
        {
            output.Write<byte>([1, 0, 0, 0, 0]);
            var start = output.WrittenCount;
            body(state, output);
            var length = output.WrittenCount - start;
            // ArrayBufferWriter exposes its written memory; patch the big-endian length in place.
            var written = System.Runtime.InteropServices.MemoryMarshal.AsMemory(output.WrittenMemory);
            BinaryPrimitives.WriteUInt32BigEndian(written.Span.Slice(start - 4, 4), (uint)length);
            Record(start, length);
        }

        private void Absent()
        {
            output.Write<byte>([0]);
            Record(-1, -1);
        }

        private void Record(int start, int length)
        {
            if (!_fields.IsEmpty)
            {
                _fields[2 * _next] = start;
                _fields[(2 * _next) + 1] = length;
            }

            _next++;
        }
    }
}
