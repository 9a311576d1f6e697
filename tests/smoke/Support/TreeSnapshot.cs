using System.Security.Cryptography;

namespace Nv.Smoke.Tests.Support;

/// <summary>Every directory and file under a directory, each file with a SHA-256 of its bytes: two snapshots are equal
/// when nothing was created, deleted or changed there.</summary>
internal static class TreeSnapshot
{
    /// <summary>Relative path → hash (a directory maps to "dir"); an absent <paramref name="root"/> is an empty snapshot.</summary>
    /// <param name="root">The directory to snapshot.</param>
    /// <param name="skip">Relative paths left out (with everything under them), e.g. a log folder.</param>
    public static SortedDictionary<string, string> Take(string root, params string[] skip)
    {
        var snapshot = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(root))
        {
            return snapshot;
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, entry);
            if (skip.Any(s => relative == s || relative.StartsWith(s + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
            {
                continue;
            }

            snapshot[relative] = Directory.Exists(entry) ? "dir" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry)));
        }

        return snapshot;
    }

    /// <summary>What differs between two snapshots, one line per path (for assertion messages).</summary>
    public static string Diff(SortedDictionary<string, string> before, SortedDictionary<string, string> after) => string.Join('\n',
        before.Keys.Union(after.Keys).Order(StringComparer.Ordinal)
            .Where(k => !before.TryGetValue(k, out var b) || !after.TryGetValue(k, out var a) || a != b)
            .Select(k => $"{k}: {(before.ContainsKey(k) ? after.ContainsKey(k) ? "changed" : "deleted" : "created")}"));
}
