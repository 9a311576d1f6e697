using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MongoDB.Bson;

namespace Nv.DbWriter.Mongo;

/// <summary>What a MongoDB deployment of Nv can store: checked before the WAL append (<see cref="IDbWriter.CheckStorable"/>)
/// and again at apply time, where a record that fails is rejected (<see cref="RejectReason.Unstorable"/>), never retried.</summary>
/// <remarks>
/// MongoDB refuses a document over 16 MiB (16,777,216 bytes of BSON) or nested deeper than 100 levels, and the driver
/// refuses to serialize deeper than 100 levels (<c>BsonBinaryWriterSettings.MaxSerializationDepth</c>). Nv's documents
/// wrap the payload: the entity document is <c>{ _id, doc: payload, _nv: {...} }</c>, a resolution holds the previous
/// document under <c>before</c>, and the write commands nest it a few levels deeper (update statement, <c>$set</c>,
/// <c>doc</c>). Hence the limits below leave room: the payload nests at most <see cref="MaxPayloadDepth"/> levels and the
/// stored entity document is at most <see cref="MaxEntityDocumentBytes"/> bytes.
/// The audit entry of a record holds the before and after images and the field changes as JSON text in one document
/// of the audit collection; changes repeat a path for every changed member, so a payload of many deep members can
/// produce an entry far larger than itself. <see cref="AuditWeight"/> bounds one image's share of an entry (its text
/// plus every path the diff could list); an entry is at most about twice the before's weight plus twice the after's,
/// so keeping every payload under <see cref="MaxAuditWeight"/> keeps every entry under 16 MiB.
/// </remarks>
internal static class MongoLimits
{
    /// <summary>MongoDB's largest document (<c>maxBsonObjectSize</c>).</summary>
    public const int MaxBsonObjectSize = 16 * 1024 * 1024;

    /// <summary>Largest entity document (BSON bytes), leaving room for the resolution fields around a before image.</summary>
    public const int MaxEntityDocumentBytes = MaxBsonObjectSize - (16 * 1024);

    /// <summary>Deepest payload (the object itself is level 1; each nested object or array adds one).</summary>
    public const int MaxPayloadDepth = 90;

    /// <summary>Largest audit weight of a payload (see <see cref="AuditWeight"/>): four of them and the entry's other fields
    /// fit in 16 MiB.</summary>
    public const long MaxAuditWeight = 4_000_000;

    /// <summary>Bytes a change adds around its path and values: <c>{"path":"","before":,"after":}</c> and separators.</summary>
    private const int ChangeOverhead = 48;

    /// <summary>Checks one payload and converts it to BSON.</summary>
    /// <param name="dtoType">The entity type (must be a valid, non-reserved dtoType).</param>
    /// <param name="entityId">The entity id, or null when unknown (the id's size then counts as the largest allowed).</param>
    /// <param name="replayKey">The replay key, or null when unknown (counted as 1 KiB).</param>
    /// <param name="payload">The JSON object payload.</param>
    /// <param name="document">The payload as BSON when storable.</param>
    /// <returns>Null when storable; otherwise why not.</returns>
    public static DbWriterRefusal? Check(string dtoType, string? entityId, string? replayKey, JsonElement payload, out BsonDocument? document)
    {
        document = null;
        if (CheckDtoType(dtoType) is { } refusal)
        {
            return refusal;
        }

        if (payload.ValueKind != JsonValueKind.Object)
        {
            return new DbWriterRefusal("", $"a MongoDB document must be a JSON object, not {payload.ValueKind}.", IsTooLarge: false);
        }

        var depth = Depth(payload);
        if (depth > MaxPayloadDepth)
        {
            return new DbWriterRefusal("", $"the payload nests {depth} levels deep; MongoDB stores Nv documents up to {MaxPayloadDepth} levels.", IsTooLarge: false);
        }

        var weight = AuditWeight(payload);
        if (weight > MaxAuditWeight)
        {
            return new DbWriterRefusal("", string.Create(CultureInfo.InvariantCulture,
                $"the payload's audit entry could exceed MongoDB's 16 MiB document limit (audit weight {weight} bytes: the text plus every field path; the limit is {MaxAuditWeight})."),
                IsTooLarge: true);
        }

        BsonDocument converted;
        try
        {
            converted = MongoJson.ToBson(payload);
        }
        catch (ArgumentException ex)
        {
            return new DbWriterRefusal("", ex.Message, IsTooLarge: false);
        }

        var size = EntityDocumentSize(converted, entityId, replayKey);
        if (size > MaxEntityDocumentBytes)
        {
            return new DbWriterRefusal("", string.Create(CultureInfo.InvariantCulture,
                $"the payload is {size} bytes as a MongoDB document; the limit is {MaxEntityDocumentBytes} (16 MiB less room for Nv's fields)."),
                IsTooLarge: true);
        }

        document = converted;
        return null;
    }

    /// <summary>Null when <paramref name="dtoType"/> can name an entity collection: a valid dtoType that is not one of Nv's
    /// own names (which would make an entity write land in, and purge walk, the audit collection).</summary>
    public static DbWriterRefusal? CheckDtoType(string? dtoType) =>
        !Sqlite.SqliteIdentifiers.IsValidDtoType(dtoType)
            ? new DbWriterRefusal("", $"dtoType '{Printable(dtoType)}' is not a valid collection name for Nv.", IsTooLarge: false)
            : DtoTypes.IsReserved(dtoType)
                ? new DbWriterRefusal("", $"dtoType '{dtoType}' is reserved for Nv's own collections.", IsTooLarge: false)
                : null;

    /// <summary>The nesting depth of a JSON value: a scalar is 0, an object or array is 1 + its deepest member.</summary>
    public static int Depth(JsonElement value)
    {
        var deepest = 0;
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    deepest = Math.Max(deepest, Depth(property.Value));
                }

                return deepest + 1;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    deepest = Math.Max(deepest, Depth(item));
                }

                return deepest + 1;
            default:
                return 0;
        }
    }

    /// <summary>An upper bound of the bytes one image can contribute to an audit entry: its JSON text, plus, for every
    /// member the field diff can list (members reached through objects only: arrays are compared whole), its JSON
    /// pointer path (each name at most twice its raw length once escaped) and the change's own punctuation.</summary>
    public static long AuditWeight(JsonElement payload) =>
        JsonMarshal.GetRawUtf8Value(payload).Length + PathWeight(payload, 0);

    private static long PathWeight(JsonElement obj, long prefix)
    {
        long total = 0;
        foreach (var property in obj.EnumerateObject())
        {
            var path = prefix + 1 + (2L * Encoding.UTF8.GetByteCount(property.Name));
            total += path + ChangeOverhead;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                total += PathWeight(property.Value, path);
            }
        }

        return total;
    }

    /// <summary>The BSON size of the entity document <c>{ _id, doc, _nv: { lsn, replayKey, walId, deleted } }</c>.</summary>
    public static long EntityDocumentSize(BsonDocument payload, string? entityId, string? replayKey)
    {
        var idBytes = entityId is null ? 4 * 200 : Encoding.UTF8.GetByteCount(entityId);
        var keyBytes = replayKey is null ? 1024 : Encoding.UTF8.GetByteCount(replayKey);
        long nv = 4 + Element("lsn", 8) + Element("replayKey", StringSize(keyBytes)) + Element("walId", StringSize(36)) + Element("deleted", 1) + 1;
        return 4 + Element("_id", StringSize(idBytes)) + Element(MongoCommands.Doc, Size(payload)) + Element(MongoCommands.Nv, nv) + 1;
    }

    /// <summary>The exact BSON size of a value, as the driver serializes it (checked against the driver in the tests).</summary>
    public static long Size(BsonValue value) => value.BsonType switch
    {
        BsonType.Document => DocumentSize(value.AsBsonDocument),
        BsonType.Array => ArraySize(value.AsBsonArray),
        BsonType.String => StringSize(Encoding.UTF8.GetByteCount(value.AsString)),
        BsonType.Int32 => 4,
        BsonType.Int64 or BsonType.Double or BsonType.DateTime or BsonType.Timestamp => 8,
        BsonType.Decimal128 => 16,
        BsonType.Boolean => 1,
        BsonType.Null or BsonType.Undefined or BsonType.MinKey or BsonType.MaxKey => 0,
        BsonType.ObjectId => 12,
        _ => value.ToBson().Length,
    };

    private static long DocumentSize(BsonDocument document)
    {
        long size = 5;
        foreach (var element in document)
        {
            size += Element(element.Name, Size(element.Value));
        }

        return size;
    }

    private static long ArraySize(BsonArray array)
    {
        long size = 5;
        for (var i = 0; i < array.Count; i++)
        {
            size += Element(i.ToString(CultureInfo.InvariantCulture), Size(array[i]));
        }

        return size;
    }

    // Type byte, the name as a NUL-terminated C string, the value.
    private static long Element(string name, long valueSize) => 1 + Encoding.UTF8.GetByteCount(name) + 1 + valueSize;

    private static long StringSize(int utf8Bytes) => 4 + utf8Bytes + 1;

    private static string Printable(string? value) =>
        value is null ? "(null)" : new string([.. (value.Length > 80 ? value[..80] : value).Select(c => char.IsControl(c) ? '?' : c)]);
}
