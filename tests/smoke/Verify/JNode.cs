using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nv.Smoke.Tests.Verify;

/// <summary>The oracle's own JSON tree: parsed with System.Text.Json's reader, but merged, compared and written
/// canonically here, from the specifications (RFC 7396, docs/audit-hash-chain.md), sharing no code with Nv.</summary>
/// <remarks>Numbers take the one form Nv gives them before the WAL (<see cref="CanonicalNumber"/>) and compare by value (a diff treats
/// 10.50 and 10.5 as equal); objects keep duplicate names in document order.</remarks>
internal sealed class JNode
{
    private JNode(JsonValueKind kind, string? text = null, List<KeyValuePair<string, JNode>>? members = null, List<JNode>? items = null)
    {
        Kind = kind;
        Text = text;
        Members = members;
        Items = items;
    }

    public JsonValueKind Kind { get; }

    /// <summary>A string's value or a number's source token.</summary>
    public string? Text { get; }

    public List<KeyValuePair<string, JNode>>? Members { get; }

    public List<JNode>? Items { get; }

    public static JNode Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return From(document.RootElement);
    }

    public static JNode From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new JNode(JsonValueKind.Object, members: element.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, From(p.Value))).ToList()),
        JsonValueKind.Array => new JNode(JsonValueKind.Array, items: element.EnumerateArray().Select(From).ToList()),
        JsonValueKind.String => new JNode(JsonValueKind.String, element.GetString()),
        JsonValueKind.Number => new JNode(JsonValueKind.Number, CanonicalNumber.Of(element.GetRawText())), // as Nv writes it (docs/json-numbers.md)
        _ => new JNode(element.ValueKind),
    };

    public static JNode Object(IEnumerable<KeyValuePair<string, JNode>> members) => new(JsonValueKind.Object, members: [.. members]);

    public static JNode Array(IEnumerable<JNode> items) => new(JsonValueKind.Array, items: [.. items]);

    public static JNode String(string value) => new(JsonValueKind.String, value);

    /// <summary>A member by name (the last one when a name repeats), or null.</summary>
    public JNode? Get(string name) => Members?.LastOrDefault(m => m.Key == name).Value;

    /// <summary>RFC 7396: objects merge member by member, <c>null</c> removes, anything else replaces the target.</summary>
    public static JNode MergePatch(JNode? target, JNode patch)
    {
        if (patch.Kind != JsonValueKind.Object)
        {
            return patch;
        }

        var result = target is { Kind: JsonValueKind.Object } ? Dedupe(target.Members!) : [];
        foreach (var (name, value) in Dedupe(patch.Members!))
        {
            var at = result.FindIndex(m => m.Key == name);
            if (value.Kind == JsonValueKind.Null)
            {
                if (at >= 0)
                {
                    result.RemoveAt(at);
                }

                continue;
            }

            var merged = MergePatch(at >= 0 ? result[at].Value : null, value);
            if (at >= 0)
            {
                result[at] = KeyValuePair.Create(name, merged);
            }
            else
            {
                result.Add(KeyValuePair.Create(name, merged));
            }
        }

        return new JNode(JsonValueKind.Object, members: result);
    }

    private static List<KeyValuePair<string, JNode>> Dedupe(List<KeyValuePair<string, JNode>> members)
    {
        var result = new List<KeyValuePair<string, JNode>>();
        foreach (var member in members)
        {
            result.RemoveAll(m => m.Key == member.Key);
            result.Add(member);
        }

        return result;
    }

    /// <summary>Equal by value: numbers numerically, strings ordinally, objects by their (last) members, arrays item by item.</summary>
    public static bool ValueEquals(JNode a, JNode b)
    {
        if (a.Kind != b.Kind)
        {
            return false;
        }

        return a.Kind switch
        {
            JsonValueKind.Number => decimal.Parse(a.Text!, NumberStyles.Float, CultureInfo.InvariantCulture)
                == decimal.Parse(b.Text!, NumberStyles.Float, CultureInfo.InvariantCulture),
            JsonValueKind.String => a.Text == b.Text,
            JsonValueKind.Array => a.Items!.Count == b.Items!.Count && a.Items.Zip(b.Items).All(p => ValueEquals(p.First, p.Second)),
            JsonValueKind.Object => Dedupe(a.Members!).Count == Dedupe(b.Members!).Count
                && Dedupe(a.Members!).All(m => b.Get(m.Key) is { } other && ValueEquals(m.Value, other)),
            _ => true,
        };
    }

    /// <summary>Canonical JSON (docs/audit-hash-chain.md): no whitespace, members sorted by UTF-16 code units (stable, so
    /// repeated names keep their order), only the mandatory escapes, numbers as their source token.</summary>
    public string Canonical()
    {
        var builder = new StringBuilder();
        Write(builder);
        return builder.ToString();
    }

    private void Write(StringBuilder builder)
    {
        switch (Kind)
        {
            case JsonValueKind.Object:
                builder.Append('{');
                var first = true;
                foreach (var (name, value) in Members!.OrderBy(m => m.Key, StringComparer.Ordinal))
                {
                    builder.Append(first ? "" : ",");
                    first = false;
                    WriteString(builder, name);
                    builder.Append(':');
                    value.Write(builder);
                }

                builder.Append('}');
                break;
            case JsonValueKind.Array:
                builder.Append('[');
                for (var i = 0; i < Items!.Count; i++)
                {
                    builder.Append(i == 0 ? "" : ",");
                    Items[i].Write(builder);
                }

                builder.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(builder, Text!);
                break;
            case JsonValueKind.Number:
                builder.Append(Text);
                break;
            case JsonValueKind.True:
                builder.Append("true");
                break;
            case JsonValueKind.False:
                builder.Append("false");
                break;
            default:
                builder.Append("null");
                break;
        }
    }

    public static void WriteString(StringBuilder builder, string value)
    {
        builder.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case < ' ': builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: builder.Append(c); break;
            }
        }

        builder.Append('"');
    }
}
