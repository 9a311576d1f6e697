using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using Nv.DbWriter.Mongo;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Round trip of entity documents JSON → BSON (bytes) → JSON, and refusal of what MongoDB cannot hold as data.</summary>
public sealed class MongoJsonTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static JsonElement RoundTrip(string json)
    {
        var bytes = MongoJson.ToBson(Json(json)).ToBson();
        return MongoJson.ToJson(BsonSerializer.Deserialize<BsonDocument>(bytes));
    }

    [Theory]
    [InlineData("""{"name":"Zoë 🚀 \"quoted\" <tag> \u0001","n":1.50,"big":12345678901234567890,"neg":-0.0,"nested":{"a":[1,{"b":null}],"t":true}}""")]
    [InlineData("""{}""")]
    [InlineData("""{"i":2147483647,"l":2147483648,"small":-9223372036854775808,"d":0.1,"e":1e21,"E":1.5E-7,"x":[[],{}]}""")]
    [InlineData("""{"_id":"x","_nv":{"lsn":1},"":"empty key","ünï":"🚀"}""")]
    public void Documents_round_trip_through_bson_bytes(string json)
    {
        var back = RoundTrip(json);
        Assert.True(JsonElement.DeepEquals(Json(json), back), $"expected {json}, got {back.GetRawText()}");
    }

    [Theory]
    [InlineData("1", BsonType.Int32, "1")]
    [InlineData("-2147483649", BsonType.Int64, "-2147483649")]
    [InlineData("0.1", BsonType.Double, "0.1")]
    [InlineData("1.50", BsonType.Double, "1.5")]
    [InlineData("1e5", BsonType.Int32, "100000")]
    [InlineData("12345678901234567890", BsonType.Decimal128, "12345678901234567890")]
    [InlineData("-0.0", BsonType.Int32, "0")]
    [InlineData("1e400", BsonType.Decimal128, "1e+400")]
    [InlineData("3.141592653589793238462643383279502", BsonType.Decimal128, "3.141592653589793238462643383279502")]
    public void Numbers_keep_their_value_exactly_and_come_back_canonical(string token, BsonType type, string text)
    {
        var value = MongoJson.ToNumber(token);
        Assert.Equal(type, value.BsonType);
        Assert.Equal(text, MongoJson.ToJson(new BsonDocument("n", value)).GetProperty("n").GetRawText());
    }

    [Theory]
    [InlineData("12345678901234567890123456789012345")] // 35 significant digits: no BSON type holds it exactly
    [InlineData("1.0000000000000000000000000000000001")]
    public void A_number_with_more_than_34_significant_digits_is_refused(string token)
    {
        Assert.Throws<ArgumentException>(() => MongoJson.ToNumber(token));
    }

    [Fact]
    public void A_number_beyond_decimal128_is_refused()
    {
        Assert.Throws<ArgumentException>(() => MongoJson.ToBson(Json("""{"n":1e7000}""")));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    public void Only_objects_are_documents(string json)
    {
        Assert.Throws<ArgumentException>(() => MongoJson.ToBson(Json(json)));
    }

    [Fact]
    public void Values_written_by_hand_are_read_as_text_instead_of_failing()
    {
        var id = ObjectId.GenerateNewId();
        var document = new BsonDocument { { "oid", id }, { "when", new BsonDateTime(new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc)) }, { "nan", double.NaN } };
        var json = MongoJson.ToJson(document);
        Assert.Equal(id.ToString(), json.GetProperty("oid").GetString());
        Assert.StartsWith("2025-01-02T03:04:05", json.GetProperty("when").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, json.GetProperty("nan").ValueKind);
    }

    [Fact]
    public void A_corrupted_bson_document_does_not_deserialize()
    {
        var bytes = MongoJson.ToBson(Json("""{"a":"hello","b":[1,2]}""")).ToBson();
        bytes[0] ^= 0x7f; // the length prefix no longer matches
        Assert.ThrowsAny<Exception>(() => BsonSerializer.Deserialize<BsonDocument>(bytes));
    }
}
