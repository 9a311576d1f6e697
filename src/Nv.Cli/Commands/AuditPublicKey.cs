using System.Security.Cryptography;
using Nv.Audit.Merkle;

namespace Nv.Cli.Commands;

/// <summary>One checkpoint verification key as <c>nv audit keys</c> shows it: its key id (what a checkpoint's <c>key:</c> line
/// names), its full fingerprint, where this process found it, and its public PEM.</summary>
/// <param name="KeyId">The key id: the first 16 hex digits of <paramref name="Fingerprint"/>'s digest (docs/audit-merkle.md).</param>
/// <param name="Fingerprint"><c>sha256:</c> and the lower-case hex SHA-256 of the key's DER SubjectPublicKeyInfo: what an
/// operator compares with the fingerprint of the key the host was given, out of band.</param>
/// <param name="Source">Where this process found it.</param>
/// <param name="PublicKey">The <c>PUBLIC KEY</c> PEM (what <c>nv audit verify --public-key</c> takes).</param>
internal sealed record AuditPublicKey(string KeyId, string Fingerprint, string Source, string PublicKey)
{
    /// <summary>Every key of a PEM text (one block each; a private key PEM gives its public half).</summary>
    /// <exception cref="ArgumentException">A block is not an ECDSA P-256 key.</exception>
    public static List<AuditPublicKey> ParseAll(string pem, string source)
    {
        var keys = new List<AuditPublicKey>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var block = rest[fields.Location].ToString();
            rest = rest[fields.Location.End..];
            using var verifier = CheckpointVerifier.FromPublicKeyPem(block); // the key id exactly as verification computes it
            using var key = ECDsa.Create();
            key.ImportFromPem(block);
            var spki = key.ExportSubjectPublicKeyInfo();
            keys.Add(new AuditPublicKey(verifier.KeyId, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(spki)), source,
                PemEncoding.WriteString("PUBLIC KEY", spki) + "\n"));
        }

        return keys;
    }
}
