using System.Security.Cryptography;

namespace Nv.Audit.Merkle;

/// <summary>Key loading and key ids shared by <see cref="CheckpointSigner"/> and <see cref="CheckpointVerifier"/>.</summary>
internal static class CheckpointKeys
{
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const int KeyIdBytes = 8;

    /// <summary>Lower-case hex of the first 8 bytes of SHA-256 over the key's DER SubjectPublicKeyInfo.</summary>
    public static string KeyIdOf(ECDsa key)
    {
        var digest = SHA256.HashData(key.ExportSubjectPublicKeyInfo());
        return Convert.ToHexStringLower(digest.AsSpan(0, KeyIdBytes));
    }

    /// <summary>Throws unless the key is on the NIST P-256 curve.</summary>
    public static void RequireP256(ECDsa key)
    {
        var curve = key.ExportParameters(includePrivateParameters: false).Curve;
        if (!curve.IsNamed || curve.Oid.Value != P256Oid)
        {
            throw new ArgumentException(
                $"Checkpoint keys must be ECDSA on NIST P-256 (prime256v1, OID {P256Oid}); got curve '{curve.Oid.FriendlyName ?? curve.Oid.Value}'.");
        }
    }

    /// <summary>Reads a PEM file, with an error that names the path.</summary>
    public static string ReadPemFile(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The checkpoint {what} file '{path}' does not exist.", path);
        }

        return File.ReadAllText(path);
    }

    /// <summary>The public keys a store's own verification trusts: the current signer's (null when a read-only opening knows
    /// none) and, when configured, the earlier keys' (<see cref="AuditOptions.PreviousPublicKeysPath"/>), as one PEM text,
    /// empty when there are none.</summary>
    /// <exception cref="FileNotFoundException">The configured file does not exist.</exception>
    internal static string Trusted(string? currentPublicKeyPem, string? previousPublicKeysPath) =>
        string.Join("\n", new[] { currentPublicKeyPem, previousPublicKeysPath is null ? null : ReadPemFile(previousPublicKeysPath, "previous public keys") }
            .Where(static pem => !string.IsNullOrWhiteSpace(pem)));
}
