using System.Text;
using System.Text.Json;

namespace Nv.Audit.Diff;

/// <summary>Field-level difference of two JSON documents, as a list of <see cref="FieldChange"/>.</summary>
/// <remarks>Paths are JSON pointers (RFC 6901: <c>~</c> is written <c>~0</c>, <c>/</c> is written <c>~1</c>). The diff
/// recurses into members that are objects on both sides; everything else (arrays, scalars, a type change) is
/// compared as a whole value. The result is sorted by path (ordinal), so it is deterministic. Values are cloned,
/// so they outlive the documents they came from.</remarks>
internal static class JsonDiff
{
    /// <summary>Compares <paramref name="before"/> with <paramref name="after"/>.</summary>
    /// <param name="before">The old state; null when the entity did not exist (every field is added).</param>
    /// <param name="after">The new state; null when the entity was deleted (every field is removed).</param>
    /// <returns>The changes, sorted by path; empty when both sides are equal or both are null.</returns>
    public static IReadOnlyList<FieldChange> Compute(JsonElement? before, JsonElement? after)
    {
        var changes = new List<FieldChange>();
        switch (before, after)
        {
            case (null, null):
                break;
            case ({ } b, null):
                AddAll(b, changes, isBefore: true);
                break;
            case (null, { } a):
                AddAll(a, changes, isBefore: false);
                break;
            case ({ } b, { } a):
                Compare(b, a, new StringBuilder(), changes);
                break;
        }

        changes.Sort(static (x, y) => string.CompareOrdinal(x.Path, y.Path));
        return changes;
    }

    /// <summary>Escapes one JSON-pointer reference token (<c>~</c> → <c>~0</c>, <c>/</c> → <c>~1</c>).</summary>
    public static string EscapeToken(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Contains('~', StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal)
            ? name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)
            : name;
    }

    // One side missing: each top-level field is added (or removed); a non-object document is one change at "".
    private static void AddAll(JsonElement value, List<FieldChange> changes, bool isBefore)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            changes.Add(isBefore ? new FieldChange(string.Empty, value.Clone(), null) : new FieldChange(string.Empty, null, value.Clone()));
            return;
        }

        foreach (var property in value.EnumerateObject())
        {
            var path = "/" + EscapeToken(property.Name);
            var v = property.Value.Clone();
            changes.Add(isBefore ? new FieldChange(path, v, null) : new FieldChange(path, null, v));
        }
    }

    private static void Compare(JsonElement before, JsonElement after, StringBuilder path, List<FieldChange> changes)
    {
        if (before.ValueKind != JsonValueKind.Object || after.ValueKind != JsonValueKind.Object)
        {
            if (!JsonElement.DeepEquals(before, after))
            {
                changes.Add(new FieldChange(path.ToString(), before.Clone(), after.Clone()));
            }

            return;
        }

        var beforeMembers = Members(before);
        var afterMembers = Members(after);
        var length = path.Length;
        foreach (var (name, oldValue) in beforeMembers)
        {
            path.Append('/').Append(EscapeToken(name));
            if (afterMembers.TryGetValue(name, out var newValue))
            {
                Compare(oldValue, newValue, path, changes);
            }
            else
            {
                changes.Add(new FieldChange(path.ToString(), oldValue.Clone(), null));
            }

            path.Length = length;
        }

        foreach (var (name, newValue) in afterMembers)
        {
            if (!beforeMembers.ContainsKey(name))
            {
                changes.Add(new FieldChange(path.ToString() + "/" + EscapeToken(name), null, newValue.Clone()));
            }
        }
    }

    // A duplicate member name keeps its last value, as most JSON readers do.
    private static Dictionary<string, JsonElement> Members(JsonElement obj)
    {
        var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            members[property.Name] = property.Value;
        }

        return members;
    }
}
