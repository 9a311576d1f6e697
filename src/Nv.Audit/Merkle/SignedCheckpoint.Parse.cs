using System.Collections.Immutable;
using System.Globalization;

namespace Nv.Audit.Merkle;

public sealed partial record SignedCheckpoint
{
    private const int BodyLines = 6;
    private const int MaxShown = 60;

    /// <summary>Parses the text form produced by <see cref="ToText"/>.</summary>
    /// <remarks>
    /// Parsing is strict: every field must be in its canonical encoding, so the parsed checkpoint's canonical text is
    /// exactly the first six lines that were read (and that were signed). A missing final line feed is tolerated.
    /// </remarks>
    /// <exception cref="CheckpointFormatException">The text is not a well-formed checkpoint; the message names the line.</exception>
    public static SignedCheckpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cr = text.IndexOf('\r', StringComparison.Ordinal);
        if (cr >= 0)
        {
            throw new CheckpointFormatException(
                "contains a carriage return; checkpoint files use LF line endings (was the file converted to CRLF?)",
                LineOf(text, cr));
        }

        var lines = text.Split('\n');
        if (lines.Length == BodyLines + 3 && lines[^1].Length == 0)
        {
            lines = lines[..^1];
        }

        if (lines.Length != BodyLines + 2)
        {
            throw new CheckpointFormatException(
                $"expected {BodyLines} body lines, an empty line and a signature line; got {lines.Length} lines", 0);
        }

        if (lines[0] != Checkpoint.FormatLine)
        {
            throw new CheckpointFormatException($"expected '{Checkpoint.FormatLine}', got '{Shorten(lines[0])}'", 1);
        }

        var chainId = Identifier(lines[1], "chain: ", 2);
        var treeSize = Size(lines[2]);
        var root = Root(lines[3]);
        var timestamp = Time(lines[4]);
        var keyId = Identifier(lines[5], "key: ", 6);
        if (lines[6].Length != 0)
        {
            throw new CheckpointFormatException($"expected an empty line after the body, got '{Shorten(lines[6])}'", 7);
        }

        var signature = ParseSignature(lines[7]);
        var checkpoint = new Checkpoint { ChainId = chainId, TreeSize = treeSize, RootHash = root, Timestamp = timestamp, KeyId = keyId };

        // Defence in depth: the field checks above should already guarantee this.
        var body = string.Join('\n', lines[..BodyLines]) + "\n";
        if (!string.Equals(body, checkpoint.ToCanonicalText(), StringComparison.Ordinal))
        {
            throw new CheckpointFormatException("the body is not in canonical form", 0);
        }

        return new SignedCheckpoint { Checkpoint = checkpoint, Signature = signature };
    }

    private static string Field(string line, string prefix, int lineNumber)
    {
        if (!line.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new CheckpointFormatException($"expected '{prefix}<value>', got '{Shorten(line)}'", lineNumber);
        }

        return line[prefix.Length..];
    }

    private static string Identifier(string line, string prefix, int lineNumber)
    {
        var value = Field(line, prefix, lineNumber);
        if (!Checkpoint.IsValidIdentifier(value))
        {
            throw new CheckpointFormatException(
                $"'{prefix.TrimEnd()}' must be 1 to {Checkpoint.MaxIdentifierLength} visible ASCII characters, got '{Shorten(value)}'",
                lineNumber);
        }

        return value;
    }

    private static long Size(string line)
    {
        var value = Field(line, "size: ", 3);
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || value != size.ToString(CultureInfo.InvariantCulture))
        {
            throw new CheckpointFormatException($"size must be a decimal number without sign or leading zeros, got '{Shorten(value)}'", 3);
        }

        return size;
    }

    private static MerkleHash Root(string line)
    {
        var value = Field(line, "root: ", 4);
        try
        {
            var root = MerkleHash.FromBase64(value);
            if (root.ToBase64() != value)
            {
                throw new FormatException("not canonical base64");
            }

            return root;
        }
        catch (FormatException ex)
        {
            throw new CheckpointFormatException($"root must be standard base64 of {MerkleHash.Size} bytes, got '{Shorten(value)}'", 4, ex);
        }
    }

    private static DateTimeOffset Time(string line)
    {
        var value = Field(line, "time: ", 5);
        if (!DateTime.TryParseExact(value, Checkpoint.TimestampFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
        {
            throw new CheckpointFormatException($"time must be UTC as {Checkpoint.TimestampFormat}, got '{Shorten(value)}'", 5);
        }

        return new DateTimeOffset(time, TimeSpan.Zero);
    }

    private static ImmutableArray<byte> ParseSignature(string line)
    {
        var value = Field(line, SignaturePrefix, 8);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(value);
        }
        catch (FormatException ex)
        {
            throw new CheckpointFormatException($"signature is not valid base64: '{Shorten(value)}'", 8, ex);
        }

        if (bytes.Length == 0 || Convert.ToBase64String(bytes) != value)
        {
            throw new CheckpointFormatException("signature must be non-empty standard base64 with padding", 8);
        }

        return ImmutableArray.Create(bytes);
    }

    private static int LineOf(string text, int offset) => text.AsSpan(0, offset).Count('\n') + 1;

    private static string Shorten(string value) => value.Length <= MaxShown ? value : value[..MaxShown] + "…";
}
