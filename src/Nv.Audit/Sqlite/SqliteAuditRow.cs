using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Audit.Sqlite;

/// <summary>Maps audit entries to and from rows of <c>audit_entries</c>.</summary>
/// <remarks>JSON columns hold the canonical JSON text (docs/audit-hash-chain.md), or that text LZ4-compressed
/// (<see cref="AuditColumnCodec"/>), so the stored text is exactly what the hash covers, and number tokens survive the
/// round trip unchanged.</remarks>
internal static class SqliteAuditRow
{
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
                Before = StoredJson.Value(AuditColumnCodec.Read(reader, offset + 8)),
                After = StoredJson.Value(AuditColumnCodec.Read(reader, offset + 9)),
                Changes = StoredJson.Changes(AuditColumnCodec.Read(reader, offset + 10) ?? throw new FormatException("changes_json is null")),
                Reason = NullableString(reader, offset + 11),
                Metadata = StoredJson.Metadata(AuditColumnCodec.Read(reader, offset + 12) ?? throw new FormatException("metadata_json is null")),
                RequestId = reader.GetString(offset + 13),
                Lsn = reader.IsDBNull(offset + 14) ? null : new Lsn(reader.GetInt64(offset + 14)),
                Sequence = reader.GetInt64(offset + 15),
                PrevHash = reader.GetString(offset + 16),
                Hash = reader.GetString(offset + 17),
                WalRecordHash = NullableString(reader, offset + 18),
                EncodingVersion = CheckVersion(reader.GetInt32(offset + 19)),
                KeyId = reader.IsDBNull(offset + 20) ? null : Guid.ParseExact(reader.GetString(offset + 20), "D"),
                Sealed = reader.IsDBNull(offset + 21) ? null : (byte[])reader.GetValue(offset + 21),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidCastException or ArgumentException or OverflowException)
        {
            throw new FormatException("An audit row does not parse: " + ex.Message, ex);
        }
    }

    private static int CheckVersion(int version) => version is AuditCanonicalEncoding.Version1 or AuditCanonicalEncoding.Version or AuditCanonicalEncoding.Version3
        ? version
        : throw new FormatException($"encoding {version} is not a known version");

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
