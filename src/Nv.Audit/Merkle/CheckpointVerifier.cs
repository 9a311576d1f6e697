using System.Security.Cryptography;

namespace Nv.Audit.Merkle;

/// <summary>Verifies signed checkpoints with one or more ECDSA P-256 public keys.</summary>
/// <remarks>
/// Needs only the public keys (<c>PUBLIC KEY</c> PEM / DER SubjectPublicKeyInfo). Verification is thread-safe. Each
/// checkpoint is checked with the key its <c>key:</c> line names, so a trail signed first with one key and then, after a
/// rotation, with another verifies against both public keys given together (PEM blocks one after the other).
/// A valid signature proves the signer's key holder stated the chain, size, root and time; compare those with what you
/// expect (and check consistency proofs between successive checkpoints) to detect rewriting.
/// </remarks>
public sealed class CheckpointVerifier : IDisposable
{
    // A DER Ecdsa-Sig-Value for P-256: SEQUENCE { INTEGER r, INTEGER s } is 8 to 72 bytes.
    private const int MinDerLength = 8;
    private const int MaxDerLength = 72;
    private const byte DerSequenceTag = 0x30;

    private readonly Dictionary<string, ECDsa> _keys;

    private CheckpointVerifier(List<ECDsa> keys)
    {
        _keys = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!_keys.TryAdd(CheckpointKeys.KeyIdOf(key), key))
            {
                key.Dispose(); // the same key given twice
            }
        }

        KeyId = keys.Count > 0 ? CheckpointKeys.KeyIdOf(keys[0]) : string.Empty;
    }

    /// <summary>The id of the first key this verifier holds (the only one, unless several were given); empty when it holds
    /// none (a store's own verifier when the process was given no key, see <see cref="Trusting"/>).</summary>
    public string KeyId { get; }

    /// <summary>The ids of every key this verifier holds; a signed checkpoint must name one of them.</summary>
    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <summary>Creates a verifier from PEM text holding one or more EC P-256 public keys, one PEM block each (a private key
    /// PEM also works).</summary>
    /// <exception cref="ArgumentException">The text holds no P-256 key, or a block that is not one.</exception>
    public static CheckpointVerifier FromPublicKeyPem(string publicKeyPem)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKeyPem);
        var keys = new List<ECDsa>();
        try
        {
            var rest = publicKeyPem.AsSpan();
            while (PemEncoding.TryFind(rest, out var fields))
            {
                var key = ECDsa.Create();
                keys.Add(key);
                key.ImportFromPem(rest[fields.Location]);
                CheckpointKeys.RequireP256(key);
                rest = rest[fields.Location.End..];
            }

            if (keys.Count == 0)
            {
                keys.Add(ECDsa.Create());
                keys[0].ImportFromPem(publicKeyPem); // throws with the runtime's own reason
            }

            return new CheckpointVerifier(keys);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            keys.ForEach(static k => k.Dispose());
            throw new ArgumentException($"The PEM holds no usable ECDSA P-256 public key: {ex.Message}", nameof(publicKeyPem), ex);
        }
    }

    /// <summary>A store's own verifier: the keys of <paramref name="trustedPem"/>, which may hold none (a read-only opening
    /// given no key and finding none); every checkpoint then fails with <see cref="CheckpointFailure.KeyMismatch"/>, which
    /// the store reports as signed by a key it was not given, not as forged.</summary>
    internal static CheckpointVerifier Trusting(string? trustedPem) =>
        string.IsNullOrWhiteSpace(trustedPem) ? new CheckpointVerifier([]) : FromPublicKeyPem(trustedPem);

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
            return new CheckpointVerifier([key]);
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
        if (!_keys.TryGetValue(checkpoint.KeyId, out var key))
        {
            return Fail(CheckpointFailure.KeyMismatch, _keys.Count == 0
                ? $"The checkpoint names key '{checkpoint.KeyId}' and no public key was given to verify it with."
                : _keys.Count == 1
                ? $"The checkpoint names key '{checkpoint.KeyId}' but the verifier holds key '{KeyId}': wrong public key (after a key rotation, give the earlier public keys too), or the key line was altered."
                : $"The checkpoint names key '{checkpoint.KeyId}' but the verifier holds keys '{string.Join("', '", _keys.Keys)}': a public key missing, or the key line was altered.");
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
            valid = key.VerifyData(checkpoint.GetCanonicalBytes(), signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
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
    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }

    private static CheckpointVerificationResult Fail(CheckpointFailure failure, string reason) => new() { Failure = failure, Reason = reason };
}
