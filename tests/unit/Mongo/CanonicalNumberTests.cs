using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 item 6: one canonical number form (docs/json-numbers.md) that the pipeline writes to the WAL and the
/// MongoDB writer stores and prints back, so both writers return and hash the same bytes.</summary>
public sealed class CanonicalNumberTests
{
    /// <summary>Tokens and their canonical form: exponents, scales, signs, zeros, the ECMAScript thresholds (21 digits,
    /// 1e-6), values only Decimal128 holds, and huge exponents.</summary>
    public static TheoryData<string, string> Corpus() => new()
    {
        { "0", "0" }, { "-0", "0" }, { "0.0", "0" }, { "-0.0", "0" }, { "0e5", "0" }, { "0E-7", "0" },
        { "1", "1" }, { "-1", "-1" }, { "10", "10" }, { "1.0", "1" }, { "1.50", "1.5" }, { "-1.50", "-1.5" },
        { "1e5", "100000" }, { "1E5", "100000" }, { "1E+5", "100000" }, { "100E-2", "1" }, { "0.1e1", "1" },
        { "123.456", "123.456" }, { "0.5", "0.5" }, { "0.000001", "0.000001" }, { "1e-6", "0.000001" }, { "1e-7", "1e-7" },
        { "0.0000001", "1e-7" }, { "1.5E-7", "1.5e-7" }, { "-2.5e-10", "-2.5e-10" },
        { "2147483647", "2147483647" }, { "2147483648", "2147483648" }, { "-9223372036854775808", "-9223372036854775808" },
        { "12345678901234567890", "12345678901234567890" }, { "123456789012345678901", "123456789012345678901" },
        { "1234567890123456789012", "1.234567890123456789012e+21" }, { "1e20", "100000000000000000000" },
        { "1e21", "1e+21" }, { "1E+21", "1e+21" }, { "1e400", "1e+400" }, { "1.2345e400", "1.2345e+400" },
        { "0.1", "0.1" }, { "3.141592653589793238462643383279502", "3.141592653589793238462643383279502" },
        { "1e99999999999999999999", "1e+99999999999999999999" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void A_token_has_one_canonical_form_and_the_form_is_its_own(string token, string canonical)
    {
        Assert.Equal(canonical, JsonNumbers.Canonicalize(token));
        Assert.Equal(canonical, JsonNumbers.Canonicalize(canonical));
        Assert.True(JsonNumbers.IsCanonical(System.Text.Encoding.UTF8.GetBytes(canonical)));
        Assert.Equal(token == canonical, JsonNumbers.IsCanonical(System.Text.Encoding.UTF8.GetBytes(token)));
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void The_canonical_form_keeps_the_exact_value(string token, string canonical)
    {
        if (decimal.TryParse(token, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            Assert.Equal(value, decimal.Parse(canonical, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The MongoDB writer's round trip (JSON → BSON bytes through the driver's serializer → JSON) returns the
    /// canonical text byte for byte, for every number Decimal128 or a double can hold.</summary>
    [Theory]
    [MemberData(nameof(Corpus))]
    public void Mongo_returns_the_canonical_text_byte_for_byte(string token, string canonical)
    {
        if (token.StartsWith("1e9999", StringComparison.Ordinal))
        {
            Assert.Throws<ArgumentException>(() => MongoJson.ToNumber(canonical));
            return;
        }

        var stored = MongoJson.ToBson(Json($$"""{"n":{{token}}}""")).ToBson();
        var back = MongoJson.ToJson(BsonSerializer.Deserialize<BsonDocument>(stored));
        Assert.Equal(canonical, back.GetProperty("n").GetRawText());
    }

    /// <summary>Numbers MongoDB already holds, whatever their BSON type and scale (written by hand or by an older build),
    /// are printed canonically too.</summary>
    [Fact]
    public void Stored_numbers_of_every_bson_type_print_canonically()
    {
        var document = new BsonDocument
        {
            { "d128", Decimal128.Parse("1.50") }, { "d128e", Decimal128.Parse("1E+5") }, { "d128z", Decimal128.Parse("0E+3") },
            { "negz", Decimal128.Parse("-0.0") }, { "dbl", 1e21 }, { "small", 1.5e-7 }, { "i64", 5L }, { "i32", -7 }, { "dz", -0.0 },
        };

        var json = MongoJson.ToJson(document);

        Assert.Equal("""{"d128":1.5,"d128e":100000,"d128z":0,"negz":0,"dbl":1e+21,"small":1.5e-7,"i64":5,"i32":-7,"dz":0}""", json.GetRawText());
    }

    [Fact]
    public void Normalize_rewrites_only_the_number_tokens_and_keeps_every_other_byte()
    {
        var payload = Json("""{ "a" : 1E5, "s":"1e5 \u00e9", "n":[1.50, {"x": -0.0}], "k\u00e9y": 2 }""");

        var normalized = JsonNumbers.Normalize(payload);

        Assert.Equal("""{ "a" : 100000, "s":"1e5 \u00e9", "n":[1.5, {"x": 0}], "k\u00e9y": 2 }""", normalized.GetRawText());
    }

    [Fact]
    public void Normalize_leaves_a_canonical_payload_as_it_is()
    {
        var payload = Json("""{"a":1,"b":[0.5,-3,1e+21],"c":"x"}""");
        Assert.Equal(payload.GetRawText(), JsonNumbers.Normalize(payload).GetRawText());
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("01")]
    [InlineData("1.")]
    [InlineData("1e")]
    [InlineData("abc")]
    [InlineData("1e+")]
    public void A_malformed_token_is_refused(string token)
    {
        Assert.Throws<FormatException>(() => JsonNumbers.Canonicalize(token));
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
