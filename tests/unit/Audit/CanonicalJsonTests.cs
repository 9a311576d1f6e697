using System.Text.Json;
using Nv.Audit.Chain;

namespace Nv.Unit.Tests.Audit;

/// <summary>Canonical JSON text: sorted members (ordinal UTF-16, duplicates in document order), no whitespace, minimal
/// escaping, numbers as written, on both the plain-ASCII-name path and the general one.</summary>
public sealed class CanonicalJsonTests
{
    [Theory]
    [InlineData("""{ "name" : "x", "blob": 1, "a": {"z": [1, 2.50, {"y": null, "b": true}], "m": false} }""",
        """{"a":{"m":false,"z":[1,2.50,{"b":true,"y":null}]},"blob":1,"name":"x"}""")]
    [InlineData("""{"b": 1, "a": 2, "b": 3, "a": 4}""", """{"a":2,"a":4,"b":1,"b":3}""")]
    [InlineData("""{"B": 1, "a": 2, "_": 3, "A1": 4, "": 5}""", """{"":5,"A1":4,"B":1,"_":3,"a":2}""")]
    [InlineData("""{}""", """{}""")]
    [InlineData("""{"k": {}}""", """{"k":{}}""")]
    [InlineData("""{"s": "tab\tquote\"slash\\ \u00e9"}""", "{\"s\":\"tab\\tquote\\\"slash\\\\ \u00e9\"}")]
    public void Plain_ascii_names_sort_and_print_like_strings(string json, string expected)
    {
        Assert.Equal(expected, CanonicalJson.ToText(JsonDocument.Parse(json).RootElement));
    }

    [Theory]
    [InlineData("""{"\u00e9": 1, "z": 2, "e": 3}""", "{\"e\":3,\"z\":2,\"\u00e9\":1}")]
    [InlineData("""{"b\"q": 1, "a": 2}""", """{"a":2,"b\"q":1}""")]
    [InlineData("""{"\u0062": 1, "a": 2}""", """{"a":2,"b":1}""")]
    [InlineData("""{"\ud83d\ude00": 1, "\uff01": 2, "a": 3}""", "{\"a\":3,\"\ud83d\ude00\":1,\"\uff01\":2}")]
    public void Escaped_or_non_ascii_names_use_utf16_ordinal_order(string json, string expected)
    {
        Assert.Equal(expected, CanonicalJson.ToText(JsonDocument.Parse(json).RootElement));
    }

    [Fact]
    public void Mixed_names_in_one_object_take_the_general_path_and_agree_with_ordinal_sorting()
    {
        var names = new[] { "zeta", "Alpha", "\u00e9t\u00e9", "alpha", "a~b", "a/b", "\ud83d\ude00", "\uffff", "0", "" };
        var json = "{" + string.Join(",", names.Select((n, i) => JsonSerializer.Serialize(n) + ":" + i)) + "}";
        var sorted = names.Select((n, i) => (n, i)).OrderBy(p => p.n, StringComparer.Ordinal).ToList();

        var text = CanonicalJson.ToText(JsonDocument.Parse(json).RootElement);

        using var reparsed = JsonDocument.Parse(text);
        Assert.Equal(sorted.Select(p => p.n), reparsed.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(sorted.Select(p => p.i), reparsed.RootElement.EnumerateObject().Select(p => p.Value.GetInt32()));
    }
}
