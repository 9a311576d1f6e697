using System.Text.Json;

namespace Nv.Audit.Chain;

/// <summary>Reads back the JSON fields of an entry kept as canonical JSON text (the SQLite store's columns, an archive's
/// lines): before/after, the changes array and the metadata object.</summary>
/// <remarks>The text is parsed as written, so number tokens survive and the entry re-encodes to the bytes its hash covers.
/// Malformed text throws <see cref="JsonException"/>, <see cref="FormatException"/>, <see cref="KeyNotFoundException"/> or
/// <see cref="InvalidOperationException"/>; callers report them as a damaged entry.</remarks>
internal static class StoredJson
{
    public static JsonElement? Value(string? text) => text is null ? null : JsonSerializer.Deserialize<JsonElement>(text);

    public static SortedDictionary<string, string> Metadata(string text) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(text) is { } map
            ? new SortedDictionary<string, string>(map, StringComparer.Ordinal)
            : throw new FormatException("metadata is null");

    public static List<FieldChange> Changes(string text)
    {
        var array = JsonSerializer.Deserialize<JsonElement>(text);
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("changes is not an array");
        }

        var changes = new List<FieldChange>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            var path = item.GetProperty("path").GetString() ?? throw new FormatException("change path is null");
            JsonElement? before = item.TryGetProperty("before", out var b) ? b : null;
            JsonElement? after = item.TryGetProperty("after", out var a) ? a : null;
            changes.Add(new FieldChange(path, before, after));
        }

        return changes;
    }
}
