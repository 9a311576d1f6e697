using System.Security.Cryptography;

namespace Nv.Audit.Merkle;

/// <summary>Verifies signed checkpoints with an ECDSA P-256 public key.</summary>
/// <remarks>
/// Needs only the public key (a <c>PUBLIC KEY</c> PEM / DER SubjectPublicKeyInfo). Verification is thread-safe.
/// A valid signature proves the signer's key holder stated the chain, size, root and time; compare those with what you
/// expect (and check consistency proofs between successive checkpoints) to detect rewriting.
/// </remarks>
public sealed class CheckpointVerifier : IDisposable
{
    // A DER Ecdsa-Sig-Value for P-256: SEQUENCE { INTEGER r, INTEGER s } is 8 to 72 bytes.
    private const int MinDerLength = 8;
    private const int MaxDerLength = 72;
    private const byte DerSequenceTag = 0x30;

    private readonly ECDsa _key;

    private CheckpointVerifier(ECDsa key)
    {
        _key = key;
        KeyId = CheckpointKeys.KeyIdOf(key);
    }

    /// <summary>The id of the key this verifier holds; signed checkpoints must name it.</summary>
    public string KeyId { get; }

    /// <summary>Creates a verifier from PEM text holding an EC P-256 public key (a private key PEM also works).</summary>
    /// <exception cref="ArgumentException">The text holds no P-256 key.</exception>
    public static CheckpointVerifier FromPublicKeyPem(string publicKeyPem)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKeyPem);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(publicKeyPem);
            CheckpointKeys.RequireP256(key);
            return new CheckpointVerifier(key);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new ArgumentException($"The PEM holds no usable ECDSA P-256 public key: {ex.Message}", nameof(publicKeyPem), ex);
        }
    }

    /// <summary>Creates a verifier from a PEM file holding an EC P-256 public key.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static CheckpointVerifier FromPublicKeyPemFile(string path) => FromPublicKeyPem(CheckpointKeys.ReadPemFile(path, "public key"));

    /// <summary>Creates a verifier from a DER SubjectPublicKeyInfo.</summary>
    /// <exception cref="ArgumentException">The bytes are not a P-256 SubjectPublicKeyInfo.</exception>
    public static CheckpointVerifier FromSubjectPublicKeyInfo(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            CheckpointKeys.RequireP256(key);
            return new CheckpointVerifier(key);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new ArgumentException($"Not an ECDSA P-256 SubjectPublicKeyInfo: {ex.Message}", nameof(subjectPublicKeyInfo), ex);
        }
    }

    /// <summary>Checks that <paramref name="signedCheckpoint"/> names this key and that its signature covers its canonical body.</summary>
    public CheckpointVerificationResult Verify(SignedCheckpoint signedCheckpoint)
    {
        ArgumentNullException.ThrowIfNull(signedCheckpoint);
        var checkpoint = signedCheckpoint.Checkpoint;
        if (checkpoint.KeyId != KeyId)
        {
            return Fail(CheckpointFailure.KeyMismatch,
                $"The checkpoint names key '{checkpoint.KeyId}' but the verifier holds key '{KeyId}': wrong public key, or the key line was altered.");
        }

        var signature = signedCheckpoint.Signature.AsSpan();
        if (signature.Length < MinDerLength || signature.Length > MaxDerLength || signature[0] != DerSequenceTag)
        {
            return Fail(CheckpointFailure.MalformedSignature,
                $"The signature ({signature.Length} bytes) is not a DER-encoded ECDSA P-256 signature.");
        }

        bool valid;
        try
        {
            valid = _key.VerifyData(checkpoint.GetCanonicalBytes(), signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return Fail(CheckpointFailure.MalformedSignature, "The signature is not a well-formed DER-encoded ECDSA signature.");
        }

        return valid
            ? CheckpointVerificationResult.Valid
            : Fail(CheckpointFailure.SignatureMismatch,
                $"The signature does not match checkpoint chain '{checkpoint.ChainId}' size {checkpoint.TreeSize}: "
                + "the chain, size, root or timestamp was altered after signing, or the signature bytes were.");
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    private static CheckpointVerificationResult Fail(CheckpointFailure failure, string reason) => new() { Failure = failure, Reason = reason };
}
