using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Audit.Sqlite;

/// <summary>Maps audit entries to and from rows of <c>audit_entries</c>.</summary>
/// <remarks>JSON columns hold the canonical JSON text (docs/audit-hash-chain.md), so the stored text is exactly
/// what the hash covers, and number tokens survive the round trip unchanged.</remarks>
internal static class SqliteAuditRow
{
    private static readonly string[] ParameterNames =
    [
        "$id", "$timestamp", "$service", "$category", "$operation", "$user_id", "$dto_type", "$entity_id", "$before_json",
        "$after_json", "$changes_json", "$reason", "$metadata_json", "$request_id", "$lsn", "$sequence", "$prev_hash", "$hash",
    ];

    /// <summary>Adds the insert parameters to a command, once.</summary>
    public static void AddParameters(SqliteCommand command)
    {
        foreach (var name in ParameterNames)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
    }

    /// <summary>Binds <paramref name="entry"/> (sequence and hashes assigned) to a command made by <see cref="AddParameters"/>.</summary>
    public static void Bind(SqliteCommand command, AuditEntry entry, ArrayBufferWriter<byte> scratch)
    {
        var p = command.Parameters;
        p[0].Value = AuditCanonicalEncoding.FormatId(entry.Id);
        p[1].Value = AuditCanonicalEncoding.FormatTimestamp(entry.Timestamp);
        p[2].Value = entry.Service;
        p[3].Value = AuditCategoryNames.ToName(entry.Category);
        p[4].Value = entry.Operation;
        p[5].Value = (object?)entry.UserId ?? DBNull.Value;
        p[6].Value = (object?)entry.DtoType ?? DBNull.Value;
        p[7].Value = entry.EntityId;
        p[8].Value = entry.Before is { } before ? Json(scratch, w => CanonicalJson.Write(before, w)) : DBNull.Value;
        p[9].Value = entry.After is { } after ? Json(scratch, w => CanonicalJson.Write(after, w)) : DBNull.Value;
        p[10].Value = Json(scratch, w => CanonicalJson.WriteChanges(entry.Changes, w));
        p[11].Value = (object?)entry.Reason ?? DBNull.Value;
        p[12].Value = Json(scratch, w => CanonicalJson.WriteStringMap(entry.Metadata, w));
        p[13].Value = entry.RequestId;
        p[14].Value = entry.Lsn is { } lsn ? lsn.Value : DBNull.Value;
        p[15].Value = entry.Sequence;
        p[16].Value = entry.PrevHash;
        p[17].Value = entry.Hash;
    }

    /// <summary>Reads the entry at the current row; columns start at <paramref name="offset"/> in <see cref="SqliteAuditSchema.Columns"/> order.</summary>
    /// <exception cref="FormatException">A column does not parse (the row was tampered with or damaged).</exception>
    public static AuditEntry Read(SqliteDataReader reader, int offset = 0)
    {
        try
        {
            return new AuditEntry
            {
                Id = Guid.ParseExact(reader.GetString(offset), "D"),
                Timestamp = AuditCanonicalEncoding.ParseTimestamp(reader.GetString(offset + 1)),
                Service = reader.GetString(offset + 2),
                Category = AuditCategoryNames.Parse(reader.GetString(offset + 3)),
                Operation = reader.GetString(offset + 4),
                UserId = NullableString(reader, offset + 5),
                DtoType = NullableString(reader, offset + 6),
                EntityId = reader.GetString(offset + 7),
                Before = ParseJson(NullableString(reader, offset + 8)),
                After = ParseJson(NullableString(reader, offset + 9)),
                Changes = ParseChanges(reader.GetString(offset + 10)),
                Reason = NullableString(reader, offset + 11),
                Metadata = ParseMetadata(reader.GetString(offset + 12)),
                RequestId = reader.GetString(offset + 13),
                Lsn = reader.IsDBNull(offset + 14) ? null : new Lsn(reader.GetInt64(offset + 14)),
                Sequence = reader.GetInt64(offset + 15),
                PrevHash = reader.GetString(offset + 16),
                Hash = reader.GetString(offset + 17),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidCastException or ArgumentException or OverflowException)
        {
            throw new FormatException("An audit row does not parse: " + ex.Message, ex);
        }
    }

    private static string Json(ArrayBufferWriter<byte> scratch, Action<ArrayBufferWriter<byte>> write)
    {
        scratch.Clear();
        write(scratch);
        return Encoding.UTF8.GetString(scratch.WrittenSpan);
    }

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static JsonElement? ParseJson(string? text) => text is null ? null : JsonSerializer.Deserialize<JsonElement>(text);

    private static SortedDictionary<string, string> ParseMetadata(string text) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(text) is { } map
            ? new SortedDictionary<string, string>(map, StringComparer.Ordinal)
            : throw new FormatException("metadata_json is null");

    private static List<FieldChange> ParseChanges(string text)
    {
        var array = JsonSerializer.Deserialize<JsonElement>(text);
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("changes_json is not an array");
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
