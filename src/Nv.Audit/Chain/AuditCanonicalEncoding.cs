using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nv.Audit.Chain;

/// <summary>The canonical, versioned byte encoding of an audit entry that the hash chain is computed over.</summary>
/// <remarks>Specified in docs/audit-hash-chain.md so that an external verifier can reproduce it. Every field except
/// <see cref="AuditEntry.Hash"/> is encoded, in a fixed order, each as a length-prefixed UTF-8 field. Changing
/// anything here breaks every stored chain: add a new version instead.</remarks>
internal static class AuditCanonicalEncoding
{
    /// <summary>Current encoding version, the 5th byte of the encoding.</summary>
    public const byte Version = 1;

    /// <summary>The timestamp format: UTC, 100 ns precision, fixed width (so text order is time order).</summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    private static ReadOnlySpan<byte> Magic => "NVAE"u8;

    /// <summary>Writes the canonical bytes of <paramref name="entry"/> (including Sequence and PrevHash, excluding Hash).</summary>
    public static void Write(AuditEntry entry, ArrayBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(entry);
        output.Write(Magic);
        output.Write<byte>([Version]);
        WriteText(output, FormatId(entry.Id));
        WriteText(output, FormatTimestamp(entry.Timestamp));
        WriteText(output, entry.Service);
        WriteText(output, AuditCategoryNames.ToName(entry.Category));
        WriteText(output, entry.Operation);
        WriteText(output, entry.UserId);
        WriteText(output, entry.DtoType);
        WriteText(output, entry.EntityId);
        WriteJson(output, entry.Before);
        WriteJson(output, entry.After);
        WriteField(output, static (changes, o) => CanonicalJson.WriteChanges(changes, o), entry.Changes);
        WriteText(output, entry.Reason);
        WriteField(output, static (metadata, o) => CanonicalJson.WriteStringMap(metadata, o), entry.Metadata);
        WriteText(output, entry.RequestId);
        WriteText(output, entry.Lsn?.Value.ToString(CultureInfo.InvariantCulture));
        WriteText(output, entry.Sequence.ToString(CultureInfo.InvariantCulture));
        WriteText(output, entry.PrevHash);
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

    /// <summary>Parses a timestamp written by <see cref="FormatTimestamp"/>.</summary>
    public static DateTimeOffset ParseTimestamp(string text) =>
        new(DateTime.SpecifyKind(DateTime.ParseExact(text, TimestampFormat, CultureInfo.InvariantCulture), DateTimeKind.Utc));

    private static void WriteText(ArrayBufferWriter<byte> output, string? value)
    {
        if (value is null)
        {
            output.Write<byte>([0]);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        var span = output.GetSpan(5 + length);
        span[0] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
        Encoding.UTF8.GetBytes(value, span[5..]);
        output.Advance(5 + length);
    }

    private static void WriteJson(ArrayBufferWriter<byte> output, JsonElement? value)
    {
        if (value is not { } element)
        {
            output.Write<byte>([0]);
            return;
        }

        WriteField(output, static (e, o) => CanonicalJson.Write(e, o), element);
    }

    // Writes the presence byte and a length placeholder, the body, then patches the length in.
    private static void WriteField<T>(ArrayBufferWriter<byte> output, Action<T, IBufferWriter<byte>> body, T state)
    {
        output.Write<byte>([1, 0, 0, 0, 0]);
        var start = output.WrittenCount;
        body(state, output);
        var length = output.WrittenCount - start;
        // ArrayBufferWriter exposes its written memory; patch the big-endian length in place.
        var written = System.Runtime.InteropServices.MemoryMarshal.AsMemory(output.WrittenMemory);
        BinaryPrimitives.WriteUInt32BigEndian(written.Span.Slice(start - 4, 4), (uint)length);
    }
}
