using System.Globalization;
using System.Text;

namespace Nv.Audit.Merkle;

/// <summary>A statement that a chain's Merkle tree had a given size and root at a given time, to be signed.</summary>
/// <remarks>
/// <para>The signature covers the UTF-8 bytes of <see cref="ToCanonicalText"/>: six lines, each ending in LF (0x0A):</para>
/// <code>
/// nv-audit-checkpoint/v1
/// chain: &lt;ChainId&gt;
/// size: &lt;TreeSize, decimal, no leading zeros&gt;
/// root: &lt;RootHash, standard base64 with padding&gt;
/// time: &lt;Timestamp, yyyy-MM-ddTHH:mm:ss.fffZ (UTC, milliseconds)&gt;
/// key: &lt;KeyId&gt;
/// </code>
/// <para>
/// Identifiers are 1 to 128 visible ASCII characters (0x21–0x7E, so no spaces). The timestamp is normalized to UTC
/// and truncated to whole milliseconds when set, so the record always equals what its canonical text says.
/// </para>
/// </remarks>
public sealed record Checkpoint
{
    /// <summary>The first line of the canonical text; names the format and its version.</summary>
    public const string FormatLine = "nv-audit-checkpoint/v1";

    /// <summary>The timestamp format of the <c>time:</c> line.</summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Maximum length of <see cref="ChainId"/> and <see cref="KeyId"/>.</summary>
    public const int MaxIdentifierLength = 128;

    /// <summary>The audit chain whose tree this checkpoint describes.</summary>
    public required string ChainId { get; init => field = CheckIdentifier(value, nameof(ChainId)); }

    /// <summary>Number of leaves in the tree.</summary>
    public required long TreeSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(TreeSize));
            field = value;
        }
    }

    /// <summary>Root hash of the tree with <see cref="TreeSize"/> leaves.</summary>
    public required MerkleHash RootHash { get; init; }

    /// <summary>When the checkpoint was made (UTC, millisecond precision).</summary>
    public required DateTimeOffset Timestamp { get; init => field = Normalize(value); }

    /// <summary>Identifies the signing key: the first 8 bytes of SHA-256 of its SubjectPublicKeyInfo, in lower-case hex.</summary>
    public required string KeyId { get; init => field = CheckIdentifier(value, nameof(KeyId)); }

    /// <summary>The canonical text the signature covers (six LF-terminated lines).</summary>
    public string ToCanonicalText()
    {
        var text = new StringBuilder(200);
        text.Append(FormatLine).Append('\n');
        text.Append("chain: ").Append(ChainId).Append('\n');
        text.Append("size: ").Append(TreeSize.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("root: ").Append(RootHash.ToBase64()).Append('\n');
        text.Append("time: ").Append(Timestamp.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture)).Append('\n');
        text.Append("key: ").Append(KeyId).Append('\n');
        return text.ToString();
    }

    /// <summary>The UTF-8 bytes of <see cref="ToCanonicalText"/>: exactly what is signed.</summary>
    public byte[] GetCanonicalBytes() => Encoding.UTF8.GetBytes(ToCanonicalText());

    internal static bool IsValidIdentifier(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxIdentifierLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c < '!' || c > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static string CheckIdentifier(string value, string name)
    {
        if (!IsValidIdentifier(value))
        {
            throw new ArgumentException(
                $"{name} must be 1 to {MaxIdentifierLength} visible ASCII characters (no spaces or line breaks).", name);
        }

        return value;
    }

    private static DateTimeOffset Normalize(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }
}
