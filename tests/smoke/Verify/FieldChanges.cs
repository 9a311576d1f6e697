using System.Text;

namespace Nv.Smoke.Tests.Verify;

/// <summary>The expected <c>changes</c> of an audit entry, written from the documented rules (README, docs): one change per
/// field that differs, JSON-pointer paths (<c>~0</c>, <c>~1</c>), objects recursed, arrays and scalars compared whole,
/// a missing side omitted, sorted by path; a created entity adds each top-level field, a deleted one removes each.</summary>
internal static class FieldChanges
{
    public static string CanonicalJson(JNode? before, JNode? after)
    {
        var changes = new List<(string Path, JNode? Before, JNode? After)>();
        if (before is not null && after is not null)
        {
            Compare(before, after, "", changes);
        }
        else if ((before ?? after) is { } one)
        {
            if (one.Kind != System.Text.Json.JsonValueKind.Object)
            {
                changes.Add(("", before, after));
            }
            else
            {
                foreach (var (name, value) in Last(one))
                {
                    changes.Add(("/" + Escape(name), before is null ? null : value, after is null ? null : value));
                }
            }
        }

        var builder = new StringBuilder("[");
        var first = true;
        foreach (var (path, b, a) in changes.OrderBy(c => c.Path, StringComparer.Ordinal))
        {
            builder.Append(first ? "{" : ",{");
            first = false;
            var members = new List<string>();
            if (a is not null)
            {
                members.Add("\"after\":" + a.Canonical());
            }

            if (b is not null)
            {
                members.Add("\"before\":" + b.Canonical());
            }

            var pathText = new StringBuilder();
            JNode.WriteString(pathText, path);
            members.Add("\"path\":" + pathText);
            builder.Append(string.Join(',', members)).Append('}');
        }

        return builder.Append(']').ToString();
    }

    private static void Compare(JNode before, JNode after, string path, List<(string, JNode?, JNode?)> changes)
    {
        if (before.Kind != System.Text.Json.JsonValueKind.Object || after.Kind != System.Text.Json.JsonValueKind.Object)
        {
            if (!JNode.ValueEquals(before, after))
            {
                changes.Add((path, before, after));
            }

            return;
        }

        var old = Last(before);
        var now = Last(after);
        foreach (var (name, value) in old)
        {
            var child = path + "/" + Escape(name);
            if (now.TryGetValue(name, out var newValue))
            {
                Compare(value, newValue, child, changes);
            }
            else
            {
                changes.Add((child, value, null));
            }
        }

        foreach (var (name, value) in now.Where(m => !old.ContainsKey(m.Key)))
        {
            changes.Add((path + "/" + Escape(name), null, value));
        }
    }

    private static Dictionary<string, JNode> Last(JNode obj)
    {
        var members = new Dictionary<string, JNode>(StringComparer.Ordinal);
        foreach (var (name, value) in obj.Members!)
        {
            members[name] = value;
        }

        return members;
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
