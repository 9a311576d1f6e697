using System.Collections.Immutable;
using System.Security.Cryptography;

namespace Nv.Audit.Merkle;

/// <summary>Signs checkpoints with an ECDSA P-256 private key (SHA-256, DER signatures).</summary>
/// <remarks>
/// The key is read from an unencrypted PEM (PKCS#8 <c>PRIVATE KEY</c> or SEC1 <c>EC PRIVATE KEY</c>), from a file or from a
/// string such as an environment variable's value. Encrypted PEM is not supported: protect the file with file-system
/// permissions or a secret store. Signing is thread-safe. Dispose the signer to release the key.
/// </remarks>
public sealed class CheckpointSigner : IDisposable
{
    private readonly ECDsa _key;

    private CheckpointSigner(ECDsa key)
    {
        _key = key;
        KeyId = CheckpointKeys.KeyIdOf(key);
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
    }

    /// <summary>The id written to each checkpoint's <c>key:</c> line (see <see cref="Checkpoint.KeyId"/>).</summary>
    public string KeyId { get; }

    /// <summary>The public key as a <c>PUBLIC KEY</c> (SubjectPublicKeyInfo) PEM, to hand to auditors.</summary>
    public string PublicKeyPem { get; }

    /// <summary>Creates a signer from PEM text holding an EC P-256 private key.</summary>
    /// <exception cref="ArgumentException">The text holds no usable unencrypted P-256 private key.</exception>
    public static CheckpointSigner FromPem(string privateKeyPem)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(privateKeyPem);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(privateKeyPem);
            CheckpointKeys.RequireP256(key);
            RequirePrivateKey(key);
            return new CheckpointSigner(key);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new ArgumentException($"The PEM holds no usable unencrypted ECDSA P-256 private key: {ex.Message}", nameof(privateKeyPem), ex);
        }
    }

    /// <summary>Creates a signer from a PEM file holding an EC P-256 private key.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">The file holds no usable unencrypted P-256 private key.</exception>
    public static CheckpointSigner FromPemFile(string path) => FromPem(CheckpointKeys.ReadPemFile(path, "private key"));

    /// <summary>Creates a signer from the PEM text in environment variable <paramref name="variableName"/>.</summary>
    /// <exception cref="InvalidOperationException">The variable is not set.</exception>
    public static CheckpointSigner FromEnvironment(string variableName)
    {
        ArgumentException.ThrowIfNullOrEmpty(variableName);
        var pem = Environment.GetEnvironmentVariable(variableName);
        if (string.IsNullOrWhiteSpace(pem))
        {
            throw new InvalidOperationException($"Environment variable {variableName} holding the checkpoint signing key is not set.");
        }

        return FromPem(pem);
    }

    /// <summary>Creates a checkpoint for the given tree state, stamped with this signer's key id, and signs it.</summary>
    public SignedCheckpoint Sign(string chainId, long treeSize, MerkleHash rootHash, DateTimeOffset timestamp) =>
        Sign(new Checkpoint { ChainId = chainId, TreeSize = treeSize, RootHash = rootHash, Timestamp = timestamp, KeyId = KeyId });

    /// <summary>Signs a checkpoint of <paramref name="tree"/>'s current head, timestamped by <paramref name="timeProvider"/>.</summary>
    public SignedCheckpoint Sign(string chainId, MerkleTree tree, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var head = tree.Head;
        return Sign(chainId, head.Size, head.Root, timeProvider.GetUtcNow());
    }

    /// <summary>Signs <paramref name="checkpoint"/>, whose <see cref="Checkpoint.KeyId"/> must be this signer's.</summary>
    /// <exception cref="ArgumentException">The checkpoint names another key.</exception>
    public SignedCheckpoint Sign(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.KeyId != KeyId)
        {
            throw new ArgumentException($"The checkpoint names key '{checkpoint.KeyId}' but this signer's key is '{KeyId}'.", nameof(checkpoint));
        }

        var signature = _key.SignData(checkpoint.GetCanonicalBytes(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new SignedCheckpoint { Checkpoint = checkpoint, Signature = ImmutableArray.Create(signature) };
    }

    /// <summary>Creates a verifier for this signer's public key.</summary>
    public CheckpointVerifier CreateVerifier() => CheckpointVerifier.FromPublicKeyPem(PublicKeyPem);

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    private static void RequirePrivateKey(ECDsa key)
    {
        try
        {
            var parameters = key.ExportParameters(includePrivateParameters: true);
            CryptographicOperations.ZeroMemory(parameters.D);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException("The PEM holds a public key only; signing needs the private key.", ex);
        }
    }
}
