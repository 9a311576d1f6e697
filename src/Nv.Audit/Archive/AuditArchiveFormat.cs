namespace Nv.Audit.Archive;

/// <summary>The archive file format (docs/audit-archive.md): gzip-compressed UTF-8 JSON lines.</summary>
/// <remarks>Line 1, the header: <c>{"format":"nv-audit-archive/v1","chain","firstSequence","prevHash","frontier":[hex...],
/// "created"}</c>, where <c>frontier</c> holds the hashes of the complete Merkle subtrees of the chain's first
/// <c>firstSequence − 1</c> leaves (one per set bit, largest first). Then one line per entry, in sequence order
/// (<see cref="ArchiveEntryJson"/>). Last, the end line: <c>{"end":true,"lastSequence","lastHash","entries",
/// "lastTimestamp","checkpoint":"&lt;signed checkpoint text at lastSequence&gt;","publicKey":"&lt;PEM&gt;"}</c>. A file
/// without its end line is incomplete and never verifies.</remarks>
internal static class AuditArchiveFormat
{
    public const string Format = "nv-audit-archive/v1";

    public const string Extension = ".nvarchive";

    /// <summary><c>&lt;chain&gt;-&lt;first&gt;-&lt;last&gt;.nvarchive</c>, the chain reduced to file-name-safe characters.</summary>
    public static string FileName(string chain, long first, long last) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SafeChain(chain)}-{first}-{last}{Extension}");

    /// <summary>A wildcard for the files (and temp files) of ranges of <paramref name="chain"/> starting at <paramref name="first"/>;
    /// <see cref="IsRange"/> tells them from another chain's whose name merely starts the same.</summary>
    public static string Pattern(string chain, long first) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SafeChain(chain)}-{first}-*{Extension}*");

    /// <summary>Whether <paramref name="fileName"/> is an archive (or its temp file) of a range of <paramref name="chain"/>
    /// starting at <paramref name="first"/>: <c>&lt;chain&gt;-&lt;first&gt;-&lt;digits&gt;.nvarchive[.tmp]</c>.</summary>
    public static bool IsRange(string fileName, string chain, long first)
    {
        var prefix = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SafeChain(chain)}-{first}-");
        if (!fileName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = fileName[prefix.Length..];
        rest = rest.EndsWith(".tmp", StringComparison.Ordinal) ? rest[..^4] : rest;
        return rest.EndsWith(Extension, StringComparison.Ordinal) && rest[..^Extension.Length] is { Length: > 0 } last && last.All(char.IsAsciiDigit);
    }

    private static string SafeChain(string chain) =>
        new(chain.Select(static c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray());
}
