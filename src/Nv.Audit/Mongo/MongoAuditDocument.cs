using System.Buffers;
using System.Text;
using System.Text.Json;
using MongoDB.Bson;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Audit.Mongo;

/// <summary>Maps audit entries to and from documents of the <c>audit_entries</c> collection.</summary>
/// <remarks>
/// Shape: <c>{ _id: id, timestamp, service, category, operation, userId, dtoType, entityId, before, after, changes,
/// reason, metadata, requestId, lsn, sequence, prevHash, hash, walRecordHash, encoding[, keyId, sealed] }</c>: every field the canonical
/// encoding covers, plus the encoding version the hash was computed with (docs/audit-hash-chain.md), so the verifier
/// recomputes exactly that hash. <c>_id</c> is the entry id (36-character text, as encoded), which makes inserts idempotent.
/// Documents written before <c>walRecordHash</c> and <c>encoding</c> were stored (no <c>encoding</c> field) were hashed
/// with encoding 2 and read back as such, without a WAL record hash: system entries verify, entity mutations cannot
/// (their hash covers a WAL record hash that was never stored). The timestamp is the fixed-width canonical text, so string order is time
/// order. The JSON fields (before, after, changes, metadata) hold the canonical JSON <em>text</em>
/// (docs/audit-hash-chain.md), exactly what the hash covers: BSON numbers would not keep every JSON number token, and
/// payload keys never become BSON field names. The same entry therefore has the same hash in SQLite and MongoDB.
/// </remarks>
internal static class MongoAuditDocument
{
    public const string Collection = "audit_entries";

    /// <summary>The document of an entry whose sequence and hashes are assigned.</summary>
    /// <remarks>A sealed entry (encryption at rest, <c>encoding: 3</c>) also has <c>keyId</c> (text) and <c>sealed</c>
    /// (binary; null when its key was destroyed before it was written); so does every later entry of its chain (<c>keyId</c>
    /// and <c>sealed</c> null when plain).</remarks>
    public static BsonDocument ToBson(AuditEntry entry, ArrayBufferWriter<byte> scratch)
    {
        var document = ToBsonCore(entry, scratch);
        if (AuditCanonicalEncoding.VersionOf(entry) >= AuditCanonicalEncoding.Version3)
        {
            document.Add("keyId", entry.KeyId is { } keyId ? new BsonString(keyId.ToString("D")) : BsonNull.Value);
            document.Add("sealed", entry.Sealed is { } sealedData ? new BsonBinaryData(sealedData) : BsonNull.Value);
        }

        return document;
    }

    private static BsonDocument ToBsonCore(AuditEntry entry, ArrayBufferWriter<byte> scratch) => new()
    {
        { "_id", AuditCanonicalEncoding.FormatId(entry.Id) },
        { "timestamp", AuditCanonicalEncoding.FormatTimestamp(entry.Timestamp) },
        { "service", entry.Service },
        { "category", AuditCategoryNames.ToName(entry.Category) },
        { "operation", entry.Operation },
        { "userId", Text(entry.UserId) },
        { "dtoType", Text(entry.DtoType) },
        { "entityId", entry.EntityId },
        { "before", entry.KeyId is null && entry.Before is { } before ? Json(scratch, w => CanonicalJson.Write(before, w)) : BsonNull.Value },
        { "after", entry.KeyId is null && entry.After is { } after ? Json(scratch, w => CanonicalJson.Write(after, w)) : BsonNull.Value },
        { "changes", Json(scratch, w => CanonicalJson.WriteChanges(entry.KeyId is null ? entry.Changes : [], w)) },
        { "reason", Text(entry.Reason) },
        { "metadata", Json(scratch, w => CanonicalJson.WriteStringMap(entry.Metadata, w)) },
        { "requestId", entry.RequestId },
        { "lsn", entry.Lsn is { } lsn ? new BsonInt64(lsn.Value) : BsonNull.Value },
        { "sequence", entry.Sequence },
        { "prevHash", entry.PrevHash },
        { "hash", entry.Hash },
        { "walRecordHash", Text(entry.WalRecordHash) },
        { EncodingField, AuditCanonicalEncoding.VersionOf(entry) },
    };

    /// <summary>The field holding the canonical encoding version (absent in documents of the first layout).</summary>
    public const string EncodingField = "encoding";

    /// <summary>The encoding version of documents stored before the version was: the sink hashed them with version 2.</summary>
    public const int LegacyEncodingVersion = AuditCanonicalEncoding.Version;

    /// <summary>The entry stored in <paramref name="document"/>.</summary>
    /// <exception cref="FormatException">A field is missing or does not parse (the document was edited or damaged).</exception>
    public static AuditEntry FromBson(BsonDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        try
        {
            return new AuditEntry
            {
                Id = Guid.ParseExact(document["_id"].AsString, "D"),
                Timestamp = AuditCanonicalEncoding.ParseTimestamp(document["timestamp"].AsString),
                Service = document["service"].AsString,
                Category = AuditCategoryNames.Parse(document["category"].AsString),
                Operation = document["operation"].AsString,
                UserId = NullableText(document, "userId"),
                DtoType = NullableText(document, "dtoType"),
                EntityId = document["entityId"].AsString,
                Before = StoredJson.Value(NullableText(document, "before")),
                After = StoredJson.Value(NullableText(document, "after")),
                Changes = StoredJson.Changes(document["changes"].AsString),
                Reason = NullableText(document, "reason"),
                Metadata = StoredJson.Metadata(document["metadata"].AsString),
                RequestId = document["requestId"].AsString,
                Lsn = document.GetValue("lsn", BsonNull.Value).IsBsonNull ? null : new Lsn(document["lsn"].AsInt64),
                Sequence = document["sequence"].AsInt64,
                PrevHash = document["prevHash"].AsString,
                Hash = document["hash"].AsString,
                WalRecordHash = NullableText(document, "walRecordHash"),
                EncodingVersion = ReadVersion(document),
                KeyId = document.GetValue("keyId", BsonNull.Value) is BsonString keyId ? Guid.ParseExact(keyId.Value, "D") : null,
                Sealed = document.GetValue("sealed", BsonNull.Value) is BsonBinaryData sealedData ? sealedData.Bytes : null,
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidCastException or ArgumentException
                                       or OverflowException or FormatException)
        {
            throw new FormatException("An audit document does not parse: " + ex.Message, ex);
        }
    }

    private static int ReadVersion(BsonDocument document)
    {
        if (!document.TryGetValue(EncodingField, out var value))
        {
            return LegacyEncodingVersion;
        }

        var version = value.AsInt32;
        return version is AuditCanonicalEncoding.Version1 or AuditCanonicalEncoding.Version or AuditCanonicalEncoding.Version3
            ? version
            : throw new FormatException($"encoding {version} is not a known version");
    }

    private static BsonValue Text(string? value) => value is null ? BsonNull.Value : new BsonString(value);

    private static string? NullableText(BsonDocument document, string name)
    {
        var value = document.GetValue(name, BsonNull.Value);
        return value.IsBsonNull ? null : value.AsString;
    }

    private static BsonString Json(ArrayBufferWriter<byte> scratch, Action<ArrayBufferWriter<byte>> write)
    {
        scratch.Clear();
        write(scratch);
        return new BsonString(Encoding.UTF8.GetString(scratch.WrittenSpan));
    }
}
