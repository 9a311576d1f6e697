using System.Text.Json;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

public sealed class RequestValidatorTests
{
    private static readonly RequestValidator Validator = new(new PipelineOptions { MaxPayloadBytes = 4096, MaxPayloadDepth = 8 });

    private static WriteRequest Valid(string payloadJson = """{"name":"a","n":1}""") => new()
    {
        RequestId = "req-1",
        Operation = WalOperation.Create,
        DtoType = "Order",
        EntityId = "o-1",
        Payload = JsonDocument.Parse(payloadJson).RootElement.Clone(),
    };

    [Fact]
    public void A_well_formed_request_passes() => Validator.Validate(Valid());

    /// <summary>Found by a review: a cast ack level was answered as Applied, silently.</summary>
    [Fact]
    public void An_ack_level_outside_the_three_is_refused()
    {
        Validator.Validate(Valid() with { Ack = AckLevel.Durable });
        Assert.Equal("ack", Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { Ack = (AckLevel)7 })).Field);
        var batch = new BatchValidator(new PipelineOptions(), Validator);
        Assert.Equal("ack", Assert.Throws<WriteValidationException>(() => batch.Validate(new BatchRequest { RequestId = "b-1", Items = [], Ack = (AckLevel)(-1) })).Field);
    }

    private static WriteRequest Event(string payloadJson) => new()
    {
        RequestId = "ev-1",
        Operation = WalOperation.AuditEvent,
        DtoType = "",
        EntityId = "r-1",
        Payload = JsonDocument.Parse(payloadJson).RootElement.Clone(),
    };

    [Fact]
    public void An_audit_event_needs_no_dtoType_but_a_valid_event_payload()
    {
        Validator.Validate(Event("""{"category":"system-events","operation":"report-exported","after":{"rows":1}}"""));
        Validator.Validate(Event("""{"category":"permission","operation":"role-granted"}""") with { DtoType = "User" });
        Assert.Equal("dtoType", Assert.Throws<WriteValidationException>(() =>
            Validator.Validate(Event("""{"category":"permission","operation":"x"}""") with { DtoType = "1bad" })).Field);
        Assert.Equal("payload", Assert.Throws<WriteValidationException>(() =>
            Validator.Validate(Event("""{"category":"entity-mutation","operation":"update"}"""))).Field);
        Assert.Equal("payload/after/$set", Assert.Throws<WriteValidationException>(() =>
            Validator.Validate(Event("""{"category":"permission","operation":"x","after":{"$set":1}}"""))).Field);
        Assert.Equal("expectedLsn", Assert.Throws<WriteValidationException>(() =>
            Validator.Validate(Event("""{"category":"permission","operation":"x"}""") with { ExpectedLsn = new Lsn(3) })).Field);
        Assert.True(Assert.Throws<WriteValidationException>(() => Validator.Validate(
            Event("{\"category\":\"permission\",\"operation\":\"x\",\"after\":\"" + new string('x', 5000) + "\"}"))).IsTooLarge);
    }

    [Fact]
    public void Escaped_surrogate_pairs_and_unicode_keys_pass() =>
        Validator.Validate(Valid("{\"\\ud83d\\ude00\":\"\\ud83d\\ude00 \\u00e9\",\"caf\u00e9\":1}"));

    [Theory]
    [InlineData("""{"$set":{"a":1}}""", "'$'")]
    [InlineData("""{"a":{"$where":"1"}}""", "'$'")]
    [InlineData("""{"a.b":1}""", "'.'")]
    [InlineData("""{"a":{"b.c":1}}""", "'.'")]
    [InlineData("{\"a\\u0000b\":1}", "NUL")]
    [InlineData("""{"":1}""", "empty key")]
    [InlineData("""{"_nv":1}""", "reserved")]
    [InlineData("""{"a":1,"a":2}""", "duplicate")]
    [InlineData("""[1,2]""", "JSON object")]
    [InlineData("""{"a":[{"$gt":1}]}""", "'$'")]
    [InlineData("{\"a\\ud800b\":1}", "unpaired surrogates")]
    [InlineData("{\"a\":\"x\\udc00y\"}", "unpaired surrogates")]
    [InlineData("{\"a\":[\"ok\",\"\\ud83d\"]}", "unpaired surrogates")]
    public void Hostile_payload_keys_are_refused(string payload, string expected)
    {
        var ex = Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid(payload)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc", "'/'")]
    [InlineData("a/b", "'/'")]
    [InlineData("..\\..\\windows", "'/'")]
    [InlineData("..", "'..'")]
    [InlineData(".", "'..'")]
    [InlineData("a\u0000b", "control")]
    [InlineData("a\u007fb", "control")]
    [InlineData("a\u0085b", "control")]
    [InlineData("abc\u202Egpj", "format")]
    [InlineData("a\u200Bb", "format")]
    [InlineData("", "required")]
    public void Unsafe_entity_ids_are_refused_by_the_pipeline(string entityId, string expected)
    {
        var ex = Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { EntityId = entityId }));
        Assert.Equal("entityId", ex.Field);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Entity_ids_with_unpaired_surrogates_are_refused()
    {
        // Built here: theory data would be serialized as UTF-8, which turns a lone surrogate into U+FFFD.
        foreach (var entityId in new[] { "a" + '\ud800' + "b", "a" + '\udc00', '\udc00' + "\ud83d\ude00" })
        {
            var ex = Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { EntityId = entityId }));
            Assert.Contains("unpaired surrogates", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("o-1")]
    [InlineData("a..b")]
    [InlineData("...")]
    [InlineData(".hidden")]
    [InlineData("caf\u00e9 au lait")]
    [InlineData("\ud83d\ude00")]
    [InlineData("user@example.com:42;x=1")]
    public void Safe_entity_ids_pass(string entityId) => Validator.Validate(Valid() with { EntityId = entityId });

    [Fact]
    public void Deep_nesting_is_refused()
    {
        var json = string.Concat(Enumerable.Repeat("{\"a\":", 9)) + "1" + new string('}', 9);
        var ex = Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid(json)));
        Assert.Contains("deeper", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_array_nesting_is_refused()
    {
        var json = "{\"a\":" + new string('[', 10) + new string(']', 10) + "}";
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid(json)));
    }

    [Fact]
    public void Nesting_at_the_limit_passes()
    {
        var json = string.Concat(Enumerable.Repeat("{\"a\":", 7)) + "1" + new string('}', 7);
        Validator.Validate(Valid("{\"x\":" + json + "}"));
    }

    [Fact]
    public void Oversized_payload_is_refused_as_too_large()
    {
        var ex = Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid("{\"a\":\"" + new string('x', 5000) + "\"}")));
        Assert.True(ex.IsTooLarge);
    }

    [Theory]
    [InlineData("", "Order", "o-1")]
    [InlineData("req 1", "Order", "o-1")]
    [InlineData("req-1", "", "o-1")]
    [InlineData("req-1", "1Order", "o-1")]
    [InlineData("req-1", "Or-der", "o-1")]
    [InlineData("req-1", "Order", "")]
    [InlineData("req-1", "Order", "o\u00001")]
    public void Missing_or_malformed_identifiers_are_refused(string requestId, string dtoType, string entityId)
    {
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { RequestId = requestId, DtoType = dtoType, EntityId = entityId }));
    }

    [Fact]
    public void Absurdly_long_ids_are_refused()
    {
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { EntityId = new string('e', 201) }));
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { RequestId = new string('r', 129) }));
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { DtoType = "A" + new string('b', 64) }));
    }

    [Fact]
    public void Unknown_operation_is_refused()
    {
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { Operation = (WalOperation)42 }));
    }

    [Fact]
    public void Create_without_payload_is_refused_but_delete_needs_none()
    {
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { Payload = null }));
        Validator.Validate(Valid() with { Operation = WalOperation.Delete, Payload = null });
    }

    [Fact]
    public void Hostile_metadata_is_refused()
    {
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { Metadata = new Dictionary<string, string> { ["$x"] = "1" } }));
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { Metadata = new Dictionary<string, string> { ["a.b"] = "1" } }));
        Assert.Throws<WriteValidationException>(() => Validator.Validate(Valid() with { Metadata = new Dictionary<string, string> { ["a"] = "x\0y" } }));
    }
}
