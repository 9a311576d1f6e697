using System.Buffers;
using System.Text;
using System.Text.Json;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Audit.Archive;

/// <summary>One stored entry as a line of an archive: every field its hash covers, plus the hash.</summary>
/// <remarks>Shape (docs/audit-archive.md): <c>{"id","timestamp","service","category","operation","userId","dtoType",
/// "entityId","before","after","changes","reason","metadata","requestId","lsn","sequence","prevHash","hash",
/// "walRecordHash","encoding"}</c>, and for encoding 3 (sealed entries, encryption at rest) <c>"keyId","sealed"</c> (base64). The JSON fields (before, after, changes, metadata) are their canonical JSON
/// <em>text</em>, exactly the bytes the hash covers (so number tokens survive); null means absent. Times and ids are their
/// canonical text.</remarks>
internal static class ArchiveEntryJson
{
    public static void Write(Utf8JsonWriter w, AuditEntry entry, ArrayBufferWriter<byte> scratch)
    {
        w.WriteStartObject();
        w.WriteString("id", AuditCanonicalEncoding.FormatId(entry.Id));
        w.WriteString("timestamp", AuditCanonicalEncoding.FormatTimestamp(entry.Timestamp));
        w.WriteString("service", entry.Service);
        w.WriteString("category", AuditCategoryNames.ToName(entry.Category));
        w.WriteString("operation", entry.Operation);
        w.WriteString("userId", entry.UserId);
        w.WriteString("dtoType", entry.DtoType);
        w.WriteString("entityId", entry.EntityId);
        w.WriteString("before", entry.Before is { } before ? CanonicalJson.ToText(before) : null);
        w.WriteString("after", entry.After is { } after ? CanonicalJson.ToText(after) : null);
        scratch.Clear();
        CanonicalJson.WriteChanges(entry.Changes, scratch);
        w.WriteString("changes", Encoding.UTF8.GetString(scratch.WrittenSpan));
        w.WriteString("reason", entry.Reason);
        scratch.Clear();
        CanonicalJson.WriteStringMap(entry.Metadata, scratch);
        w.WriteString("metadata", Encoding.UTF8.GetString(scratch.WrittenSpan));
        w.WriteString("requestId", entry.RequestId);
        if (entry.Lsn is { } lsn)
        {
            w.WriteNumber("lsn", lsn.Value);
        }
        else
        {
            w.WriteNull("lsn");
        }

        w.WriteNumber("sequence", entry.Sequence);
        w.WriteString("prevHash", entry.PrevHash);
        w.WriteString("hash", entry.Hash);
        w.WriteString("walRecordHash", entry.WalRecordHash);
        var version = AuditCanonicalEncoding.VersionOf(entry);
        w.WriteNumber("encoding", version);
        if (version >= AuditCanonicalEncoding.Version3)
        {
            // Encryption at rest: what the hash covers instead of the plaintext (the ciphertext stays readable to nobody
            // once its key is destroyed, in the archive as in the store).
            w.WriteString("keyId", entry.KeyId?.ToString("D"));
            w.WriteString("sealed", entry.Sealed is null ? null : Convert.ToBase64String(entry.Sealed));
        }

        w.WriteEndObject();
    }

    /// <exception cref="FormatException">A field is missing, of the wrong type, or does not parse.</exception>
    public static AuditEntry Read(JsonElement line)
    {
        try
        {
            var encoding = line.GetProperty("encoding").GetInt32();
            if (encoding is not (AuditCanonicalEncoding.Version1 or AuditCanonicalEncoding.Version or AuditCanonicalEncoding.Version3))
            {
                throw new FormatException($"encoding {encoding} is not a known version");
            }

            return new AuditEntry
            {
                Id = Guid.ParseExact(Text(line, "id"), "D"),
                Timestamp = AuditCanonicalEncoding.ParseTimestamp(Text(line, "timestamp")),
                Service = Text(line, "service"),
                Category = AuditCategoryNames.Parse(Text(line, "category")),
                Operation = Text(line, "operation"),
                UserId = Nullable(line, "userId"),
                DtoType = Nullable(line, "dtoType"),
                EntityId = Text(line, "entityId"),
                Before = StoredJson.Value(Nullable(line, "before")),
                After = StoredJson.Value(Nullable(line, "after")),
                Changes = StoredJson.Changes(Text(line, "changes")),
                Reason = Nullable(line, "reason"),
                Metadata = StoredJson.Metadata(Text(line, "metadata")),
                RequestId = Text(line, "requestId"),
                Lsn = line.GetProperty("lsn").ValueKind == JsonValueKind.Null ? null : new Lsn(line.GetProperty("lsn").GetInt64()),
                Sequence = line.GetProperty("sequence").GetInt64(),
                PrevHash = Text(line, "prevHash"),
                Hash = Text(line, "hash"),
                WalRecordHash = Nullable(line, "walRecordHash"),
                EncodingVersion = encoding,
                KeyId = encoding >= AuditCanonicalEncoding.Version3 && Nullable(line, "keyId") is { } keyId ? Guid.ParseExact(keyId, "D") : null,
                Sealed = encoding >= AuditCanonicalEncoding.Version3 && Nullable(line, "sealed") is { } sealedData ? Convert.FromBase64String(sealedData) : null,
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw new FormatException("An archived entry does not parse: " + ex.Message, ex);
        }
    }

    private static string Text(JsonElement line, string name) =>
        line.GetProperty(name).GetString() ?? throw new FormatException($"'{name}' is null");

    private static string? Nullable(JsonElement line, string name) => line.GetProperty(name).GetString();
}
