using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>Conversions between stored columns and the contract's types.</summary>
internal static class SqliteJson
{
    /// <summary>Parses stored JSON into an element that owns its memory (no disposable document escapes).</summary>
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static JsonElement? ParseOrNull(string? json) => json is null ? null : Parse(json);

    /// <summary>Parses stored UTF-8 JSON; the element owns its memory.</summary>
    public static JsonElement? ParseOrNull(byte[]? utf8)
    {
        if (utf8 is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(utf8);
        return document.RootElement.Clone();
    }

    /// <summary>Wal ids are stored as 16-byte blobs (<see cref="Guid.ToByteArray()"/> layout, Microsoft.Data.Sqlite's default).</summary>
    public static Guid ReadGuid(SqliteDataReader reader, int ordinal) => reader.GetGuid(ordinal);
}
