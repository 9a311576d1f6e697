using System.Buffers;
using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The stored per-item outcome of an applied batch record: a JSON array with one element per item, in order —
/// the item's before image (an object), <c>null</c> when its entity did not exist, or <c>false</c> when the item was
/// superseded (nothing written).</summary>
/// <remarks>Persisted format (SQLite <c>_nv_batch_resolutions.items</c>; the same array in MongoDB). A before image is
/// always a JSON object, so the three cases never collide. Parsing refuses anything else with <see cref="FormatException"/>.</remarks>
internal static class BatchItemsJson
{
    /// <summary>Encodes items: <paramref name="befores"/>[i] is the raw UTF-8 JSON before image (null: none).</summary>
    public static byte[] Encode(IReadOnlyList<ApplyStatus> statuses, IReadOnlyList<byte[]?> befores)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < statuses.Count; i++)
            {
                if (statuses[i] != ApplyStatus.Applied)
                {
                    writer.WriteBooleanValue(false);
                }
                else if (befores[i] is { } before)
                {
                    writer.WriteRawValue(before, skipInputValidation: true);
                }
                else
                {
                    writer.WriteNullValue();
                }
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes items whose before images are JSON elements.</summary>
    public static byte[] Encode(IReadOnlyList<ApplyStatus> statuses, IReadOnlyList<JsonElement?> befores) =>
        Encode(statuses, [.. befores.Select(static b => b is { } e ? JsonSerializer.SerializeToUtf8Bytes(e) : null)]);

    /// <summary>Decodes a stored array into per-item results (status Applied with the before image, or AlreadyApplied).</summary>
    /// <exception cref="FormatException">The text is not such an array.</exception>
    public static IReadOnlyList<ApplyResult> Decode(ReadOnlySpan<byte> utf8, Lsn lsn)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            return Decode(document.RootElement, lsn);
        }
        catch (JsonException ex)
        {
            throw new FormatException("A stored batch resolution is not valid JSON.", ex);
        }
    }

    /// <summary>Decodes a parsed array (see <see cref="Decode(ReadOnlySpan{byte}, Lsn)"/>).</summary>
    /// <exception cref="FormatException">The element is not such an array.</exception>
    public static IReadOnlyList<ApplyResult> Decode(JsonElement array, Lsn lsn)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"A stored batch resolution is a {array.ValueKind}, not an array.");
        }

        var items = new List<ApplyResult>(array.GetArrayLength());
        foreach (var element in array.EnumerateArray())
        {
            items.Add(element.ValueKind switch
            {
                JsonValueKind.False => new ApplyResult { Lsn = lsn, Status = ApplyStatus.AlreadyApplied },
                JsonValueKind.Null => new ApplyResult { Lsn = lsn, Status = ApplyStatus.Applied },
                JsonValueKind.Object => new ApplyResult { Lsn = lsn, Status = ApplyStatus.Applied, Before = element.Clone() },
                _ => throw new FormatException($"A stored batch item outcome is a {element.ValueKind}; expected an object, null or false."),
            });
        }

        if (items.Count == 0)
        {
            throw new FormatException("A stored batch resolution has no items.");
        }

        return items;
    }
}
