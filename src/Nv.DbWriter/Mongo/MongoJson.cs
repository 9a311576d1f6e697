using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using MongoDB.Bson;

namespace Nv.DbWriter.Mongo;

/// <summary>Converts entity documents between JSON (what the WAL carries and the API returns) and BSON (what MongoDB stores).</summary>
/// <remarks>
/// Key safety: a field name that MongoDB would interpret (<c>$</c>-prefixed, containing <c>.</c>) or cannot store (NUL)
/// is refused with <see cref="ArgumentException"/> before anything is sent; so is a duplicate name in one object. The
/// pipeline validates payloads already; this is the writer defending itself.
/// Numbers keep their value exactly and come back in Nv's canonical form (<see cref="JsonNumbers"/>): each JSON number
/// becomes the first BSON type that prints back to the token's canonical text (Int32, Int64, then Double printed
/// round-trip), else Decimal128 (up to 34 significant digits, exponent −6176…6111). A number none of them holds exactly
/// is refused. Every stored number, whatever its BSON type or origin, is printed in canonical form, so <c>1e5</c>,
/// <c>100000</c> and <c>1E+5</c> all read back as <c>100000</c>, byte for byte what the SQLite writer returns.
/// </remarks>
internal static class MongoJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The BSON form of a JSON object payload.</summary>
    /// <exception cref="ArgumentException">The value is not an object, or holds a key or number MongoDB cannot take as data.</exception>
    public static BsonDocument ToBson(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"A MongoDB document must be a JSON object, not {value.ValueKind}.", nameof(value));
        }

        return ToDocument(value, "");
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="value"/> cannot be stored as data.</summary>
    public static void ThrowIfUnsafe(JsonElement value) => _ = ToBson(value);

    /// <summary>Whether <paramref name="key"/> is plain data to MongoDB.</summary>
    public static bool IsSafeKey(string key) =>
        !key.StartsWith('$') && !key.Contains('.', StringComparison.Ordinal) && !key.Contains('\0', StringComparison.Ordinal);

    /// <summary>The JSON form of a stored document (or any BSON value).</summary>
    public static JsonElement ToJson(BsonValue value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(writer, value);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    /// <summary>The JSON form of a nullable stored value: BSON null or missing is null.</summary>
    public static JsonElement? ToJsonOrNull(BsonValue? value) => value is null || value.IsBsonNull ? null : ToJson(value);

    private static BsonDocument ToDocument(JsonElement value, string path)
    {
        var document = new BsonDocument();
        foreach (var property in value.EnumerateObject())
        {
            var name = property.Name;
            var at = path.Length == 0 ? name : path + "/" + name;
            if (!IsSafeKey(name))
            {
                throw new ArgumentException(
                    $"Field '{Printable(at)}' cannot be stored in MongoDB: names must not start with '$' or contain '.' or NUL.", nameof(value));
            }

            if (document.Contains(name))
            {
                throw new ArgumentException($"Field '{Printable(at)}' occurs twice in one object.", nameof(value));
            }

            document.Add(name, ToValue(property.Value, at));
        }

        return document;
    }

    private static BsonValue ToValue(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                return ToDocument(value, path);
            case JsonValueKind.Array:
                var array = new BsonArray();
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    array.Add(ToValue(item, path + "/" + (i++).ToString(CultureInfo.InvariantCulture)));
                }

                return array;
            case JsonValueKind.String:
                return new BsonString(value.GetString()!);
            case JsonValueKind.Number:
                return ToNumber(value.GetRawText(), path);
            case JsonValueKind.True:
                return BsonBoolean.True;
            case JsonValueKind.False:
                return BsonBoolean.False;
            case JsonValueKind.Null:
                return BsonNull.Value;
            default:
                throw new ArgumentException($"Field '{Printable(path)}' has no JSON value.", nameof(value));
        }
    }

    /// <summary>The BSON number that prints back to the canonical text of <paramref name="token"/>.</summary>
    /// <exception cref="ArgumentException">No BSON number type holds the value exactly.</exception>
    internal static BsonValue ToNumber(string token, string path = "")
    {
        var inv = CultureInfo.InvariantCulture;
        var canonical = JsonNumbers.Canonicalize(token);
        if (int.TryParse(canonical, NumberStyles.AllowLeadingSign, inv, out var i32) && i32.ToString(inv) == canonical)
        {
            return new BsonInt32(i32);
        }

        if (long.TryParse(canonical, NumberStyles.AllowLeadingSign, inv, out var i64) && i64.ToString(inv) == canonical)
        {
            return new BsonInt64(i64);
        }

        if (double.TryParse(canonical, NumberStyles.Float, inv, out var d) && double.IsFinite(d) && FormatDouble(d) == canonical)
        {
            return new BsonDouble(d);
        }

        if (Decimal128.TryParse(canonical, out var dec) && !Decimal128.IsInfinity(dec) && !Decimal128.IsNaN(dec)
            && JsonNumbers.Canonicalize(dec.ToString()) == canonical)
        {
            return new BsonDecimal128(dec);
        }

        throw new ArgumentException(
            $"Number {Printable(token)} at '{Printable(path)}' cannot be stored exactly in MongoDB (more than 34 significant digits, " +
            "or an exponent beyond Decimal128's range).", nameof(token));
    }

    /// <summary>A finite double in canonical form: its shortest round-trip text, respelled.</summary>
    private static string FormatDouble(double d) => JsonNumbers.Canonicalize(d.ToString("R", CultureInfo.InvariantCulture));

    private static void Write(Utf8JsonWriter writer, BsonValue value)
    {
        switch (value.BsonType)
        {
            case BsonType.Document:
                writer.WriteStartObject();
                foreach (var element in value.AsBsonDocument)
                {
                    writer.WritePropertyName(element.Name);
                    Write(writer, element.Value);
                }

                writer.WriteEndObject();
                break;
            case BsonType.Array:
                writer.WriteStartArray();
                foreach (var item in value.AsBsonArray)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case BsonType.String:
                writer.WriteStringValue(value.AsString);
                break;
            case BsonType.Int32:
                // Integers print canonically as they are (never -0, never more than 21 digits).
                writer.WriteNumberValue(value.AsInt32);
                break;
            case BsonType.Int64:
                writer.WriteNumberValue(value.AsInt64);
                break;
            case BsonType.Double when double.IsFinite(value.AsDouble):
                writer.WriteRawValue(FormatDouble(value.AsDouble), skipInputValidation: false);
                break;
            case BsonType.Decimal128 when !Decimal128.IsNaN(value.AsDecimal128) && !Decimal128.IsInfinity(value.AsDecimal128):
                // Decimal128 keeps a scale (1.50, 1E+5, 0E+3): print the value canonically, not the scale.
                writer.WriteRawValue(JsonNumbers.Canonicalize(value.AsDecimal128.ToString()), skipInputValidation: false);
                break;
            case BsonType.Boolean:
                writer.WriteBooleanValue(value.AsBoolean);
                break;
            case BsonType.Null:
            case BsonType.Undefined:
                writer.WriteNullValue();
                break;
            case BsonType.DateTime:
                writer.WriteStringValue(value.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                break;
            default:
                // Only values written by hand (ObjectId, binary, NaN...) get here: show them as text rather than fail a read.
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    private static string Printable(string value)
    {
        var shown = value.Length > 80 ? value[..80] + "…" : value;
        return string.Create(shown.Length, shown, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? '?' : s[i];
            }
        });
    }
}
