using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nv.Host.Http;

/// <summary>JSON Merge Patch (RFC 7396): objects merge recursively, <c>null</c> removes a member, anything else replaces.</summary>
internal static class JsonMergePatch
{
    /// <summary>Applies <paramref name="patch"/> to <paramref name="target"/> and returns the merged document.</summary>
    public static JsonElement Apply(JsonElement target, JsonElement patch)
    {
        var merged = Merge(JsonNode.Parse(target.GetRawText()), patch);
        return JsonSerializer.SerializeToElement(merged);
    }

    private static JsonNode? Merge(JsonNode? target, JsonElement patch)
    {
        if (patch.ValueKind != JsonValueKind.Object)
        {
            return JsonNode.Parse(patch.GetRawText());
        }

        var result = target as JsonObject ?? new JsonObject();
        foreach (var member in patch.EnumerateObject())
        {
            if (member.Value.ValueKind == JsonValueKind.Null)
            {
                result.Remove(member.Name);
                continue;
            }

            result.TryGetPropertyValue(member.Name, out var existing);
            var merged = Merge(existing?.DeepClone(), member.Value);
            result[member.Name] = merged;
        }

        return result;
    }
}
