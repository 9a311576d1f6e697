using System.Buffers;
using System.Globalization;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Nv.Audit.Chain;

/// <summary>Writes a JSON value in the canonical text form used by the audit hash chain (docs/audit-hash-chain.md).</summary>
/// <remarks>Object members are sorted by name (ordinal, UTF-16 code units, like RFC 8785; duplicates keep their
/// document order), there is no whitespace, strings are escaped minimally (only <c>"</c>, <c>\</c> and control
/// characters below U+0020), and numbers are written as their source token. The output is UTF-8.</remarks>
internal static class CanonicalJson
{
    private static readonly byte[] Null = "null"u8.ToArray();
    private static readonly byte[] True = "true"u8.ToArray();
    private static readonly byte[] False = "false"u8.ToArray();

    /// <summary>Writes <paramref name="value"/> canonically.</summary>
    public static void Write(JsonElement value, IBufferWriter<byte> output)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(value, output);
                break;
            case JsonValueKind.Array:
                WriteByte(output, (byte)'[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                    {
                        WriteByte(output, (byte)',');
                    }

                    first = false;
                    Write(item, output);
                }

                WriteByte(output, (byte)']');
                break;
            case JsonValueKind.String:
                // A source literal without escapes is already canonical (valid JSON has no raw control characters or
                // quotes inside a string): copy its bytes, quotes included, without materializing a string.
                var raw = JsonMarshal.GetRawUtf8Value(value);
                if (raw.IndexOf((byte)'\\') < 0)
                {
                    output.Write(raw);
                }
                else
                {
                    WriteString(value.GetString()!, output);
                }

                break;
            case JsonValueKind.Number:
                // The source token, unchanged: sinks store JSON as text, so the token survives a round trip.
                output.Write(JsonMarshal.GetRawUtf8Value(value));
                break;
            case JsonValueKind.True:
                output.Write(True);
                break;
            case JsonValueKind.False:
                output.Write(False);
                break;
            case JsonValueKind.Null:
                output.Write(Null);
                break;
            default:
                throw new ArgumentException($"Cannot encode a JSON value of kind {value.ValueKind}.", nameof(value));
        }
    }

    /// <summary>Returns the canonical text of <paramref name="value"/>.</summary>
    public static string ToText(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(value, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes a string map as a canonical JSON object (keys sorted ordinally).</summary>
    public static void WriteStringMap(IReadOnlyDictionary<string, string> map, IBufferWriter<byte> output)
    {
        WriteByte(output, (byte)'{');
        var keys = map.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
        {
            if (i > 0)
            {
                WriteByte(output, (byte)',');
            }

            WriteString(keys[i], output);
            WriteByte(output, (byte)':');
            WriteString(map[keys[i]], output);
        }

        WriteByte(output, (byte)'}');
    }

    /// <summary>Writes field changes as a canonical JSON array of <c>{"after"?,"before"?,"path"}</c> objects, in list order.</summary>
    /// <remarks>An absent side (field added or removed) omits its member; a JSON <c>null</c> side writes <c>null</c>.</remarks>
    public static void WriteChanges(IReadOnlyList<FieldChange> changes, IBufferWriter<byte> output)
    {
        WriteByte(output, (byte)'[');
        for (var i = 0; i < changes.Count; i++)
        {
            var change = changes[i];
            if (i > 0)
            {
                WriteByte(output, (byte)',');
            }

            WriteByte(output, (byte)'{');
            if (change.After is { } after)
            {
                output.Write("\"after\":"u8);
                Write(after, output);
                WriteByte(output, (byte)',');
            }

            if (change.Before is { } before)
            {
                output.Write("\"before\":"u8);
                Write(before, output);
                WriteByte(output, (byte)',');
            }

            output.Write("\"path\":"u8);
            WriteString(change.Path, output);
            WriteByte(output, (byte)'}');
        }

        WriteByte(output, (byte)']');
    }

    /// <summary>Writes a JSON string literal with minimal escaping.</summary>
    public static void WriteString(string value, IBufferWriter<byte> output)
    {
        WriteByte(output, (byte)'"');
        var start = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c >= 0x20 && c != '"' && c != '\\')
            {
                continue;
            }

            WriteUtf8(value.AsSpan(start, i - start), output);
            start = i + 1;
            switch (c)
            {
                case '"': output.Write("\\\""u8); break;
                case '\\': output.Write("\\\\"u8); break;
                case '\b': output.Write("\\b"u8); break;
                case '\f': output.Write("\\f"u8); break;
                case '\n': output.Write("\\n"u8); break;
                case '\r': output.Write("\\r"u8); break;
                case '\t': output.Write("\\t"u8); break;
                default:
                    WriteUtf8("\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture), output);
                    break;
            }
        }

        WriteUtf8(value.AsSpan(start), output);
        WriteByte(output, (byte)'"');
    }

    private static void WriteObject(JsonElement value, IBufferWriter<byte> output)
    {
        var count = value.GetPropertyCount();
        if (count == 0)
        {
            output.Write("{}"u8);
            return;
        }

        var members = ArrayPool<JsonProperty>.Shared.Rent(count);
        try
        {
            var n = 0;
            var ascii = true;
            foreach (var property in value.EnumerateObject())
            {
                members[n++] = property;
                ascii &= IsPlainAscii(JsonMarshal.GetRawUtf8PropertyName(property));
            }

            if (ascii)
            {
                WriteAsciiMembers(members.AsSpan(0, n), output);
            }
            else
            {
                WriteMembers(members.AsSpan(0, n), output);
            }
        }
        finally
        {
            ArrayPool<JsonProperty>.Shared.Return(members, clearArray: true);
        }
    }

    // Every name is ASCII without escapes: its source bytes are its canonical text, and byte order is UTF-16 ordinal
    // order. A stable insertion sort (objects are small) keeps duplicates in document order, without a string.
    private static void WriteAsciiMembers(Span<JsonProperty> members, IBufferWriter<byte> output)
    {
        for (var i = 1; i < members.Length; i++)
        {
            var current = members[i];
            var name = JsonMarshal.GetRawUtf8PropertyName(current);
            var j = i - 1;
            while (j >= 0 && JsonMarshal.GetRawUtf8PropertyName(members[j]).SequenceCompareTo(name) > 0)
            {
                members[j + 1] = members[j];
                j--;
            }

            members[j + 1] = current;
        }

        WriteByte(output, (byte)'{');
        for (var i = 0; i < members.Length; i++)
        {
            if (i > 0)
            {
                WriteByte(output, (byte)',');
            }

            WriteByte(output, (byte)'"');
            output.Write(JsonMarshal.GetRawUtf8PropertyName(members[i]));
            output.Write("\":"u8);
            Write(members[i].Value, output);
        }

        WriteByte(output, (byte)'}');
    }

    private static void WriteMembers(Span<JsonProperty> members, IBufferWriter<byte> output)
    {
        var sorted = new List<(string Name, int Index, JsonElement Value)>(members.Length);
        foreach (var property in members)
        {
            sorted.Add((property.Name, sorted.Count, property.Value));
        }

        sorted.Sort(static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : a.Index.CompareTo(b.Index);
        });

        WriteByte(output, (byte)'{');
        for (var i = 0; i < sorted.Count; i++)
        {
            if (i > 0)
            {
                WriteByte(output, (byte)',');
            }

            WriteString(sorted[i].Name, output);
            WriteByte(output, (byte)':');
            Write(sorted[i].Value, output);
        }

        WriteByte(output, (byte)'}');
    }

    private static bool IsPlainAscii(ReadOnlySpan<byte> rawName)
    {
        foreach (var b in rawName)
        {
            if (b is >= 0x80 or (byte)'\\')
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static void WriteUtf8(ReadOnlySpan<char> text, IBufferWriter<byte> output)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        var written = Encoding.UTF8.GetBytes(text, span);
        output.Advance(written);
    }
}
