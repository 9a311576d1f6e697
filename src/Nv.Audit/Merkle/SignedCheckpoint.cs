using System.Collections.Immutable;
using System.Text;

namespace Nv.Audit.Merkle;

/// <summary>A <see cref="Checkpoint"/> with its ECDSA P-256 / SHA-256 signature.</summary>
/// <remarks>
/// <para>
/// The signature is DER-encoded (RFC 3279 <c>Ecdsa-Sig-Value</c>, the format OpenSSL and most libraries produce
/// and accept) over the UTF-8 bytes of <see cref="Checkpoint.ToCanonicalText"/>, hashed with SHA-256.
/// </para>
/// <para>The text form (<see cref="ToText"/>, <see cref="Parse"/>) is the canonical body, one empty line, and a signature line:</para>
/// <code>
/// nv-audit-checkpoint/v1
/// chain: ...
/// size: ...
/// root: ...
/// time: ...
/// key: ...
///
/// signature: &lt;base64 of the DER signature&gt;
/// </code>
/// <para>So the first six lines of the file are byte for byte what was signed (see docs/audit-merkle.md).</para>
/// </remarks>
public sealed partial record SignedCheckpoint
{
    /// <summary>The prefix of the signature line.</summary>
    public const string SignaturePrefix = "signature: ";

    /// <summary>The signed statement.</summary>
    public required Checkpoint Checkpoint { get; init; }

    /// <summary>The DER-encoded ECDSA P-256 signature over <see cref="Checkpoint.GetCanonicalBytes"/>.</summary>
    public required ImmutableArray<byte> Signature { get; init; }

    /// <summary>The text file form: canonical body, an empty line, then <c>signature: &lt;base64&gt;</c>, LF-terminated.</summary>
    public string ToText() =>
        Checkpoint.ToCanonicalText() + "\n" + SignaturePrefix + Convert.ToBase64String(Signature.AsSpan()) + "\n";

    /// <summary>Writes <see cref="ToText"/> to <paramref name="path"/> (UTF-8 without BOM), replacing the file atomically.</summary>
    public void WriteToFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var temp = path + ".tmp";
        File.WriteAllText(temp, ToText(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a checkpoint file written by <see cref="WriteToFile"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a well-formed checkpoint.</exception>
    /// <remarks>Parsing checks the format only; call <see cref="CheckpointVerifier.Verify"/> to check the signature.</remarks>
    public static SignedCheckpoint ReadFromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllText(path, Encoding.UTF8));
    }

    /// <inheritdoc />
    public bool Equals(SignedCheckpoint? other) =>
        other is not null && Checkpoint == other.Checkpoint && Signature.AsSpan().SequenceEqual(other.Signature.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Checkpoint, Signature.Length);
}
