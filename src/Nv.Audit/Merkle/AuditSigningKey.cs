using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Nv.Audit.Merkle;

/// <summary>Finds the checkpoint signing key: <c>NV_AUDIT_SIGNING_KEY</c> (PEM text), else <see cref="AuditOptions.SigningKeyPath"/>,
/// else a key generated on first start into the data directory (by a host only: see <see cref="AuditOptions.SignWithHostKeyOnly"/>).</summary>
/// <remarks>The generated private key file is created with mode 0600 (owner read/write) before any byte is written, and
/// its public key is written next to it (<c>audit-signing-key.pub.pem</c>) for auditors. Both are flushed to disk.</remarks>
internal static class AuditSigningKey
{
    /// <summary>The environment variable holding the signing key PEM.</summary>
    public const string EnvironmentVariable = "NV_AUDIT_SIGNING_KEY";

    /// <summary>File name of the generated key in the data directory.</summary>
    public const string GeneratedFileName = "audit-signing-key.pem";

    /// <summary>File name of the generated key's public half.</summary>
    public const string GeneratedPublicFileName = "audit-signing-key.pub.pem";

    public static CheckpointSigner Resolve(AuditOptions options, ILogger logger) =>
        ResolveGiven(options, logger) ?? ResolveInDataDirectory(options, logger) ?? Generate(options, logger);

    /// <summary>The key this process was given explicitly: <c>NV_AUDIT_SIGNING_KEY</c>, else
    /// <see cref="AuditOptions.SigningKeyPath"/>; null when neither is set.</summary>
    public static CheckpointSigner? ResolveGiven(AuditOptions options, ILogger logger)
    {
        var pem = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(pem))
        {
            var signer = CheckpointSigner.FromPem(pem);
            Log.SigningKeyLoaded(logger, "environment variable " + EnvironmentVariable, signer.KeyId);
            return signer;
        }

        if (options.SigningKeyPath is { } configured)
        {
            var signer = CheckpointSigner.FromPemFile(configured);
            Log.SigningKeyLoaded(logger, Path.GetFullPath(configured), signer.KeyId);
            return signer;
        }

        return null;
    }

    /// <summary>The key generated earlier into the data directory (<c>audit-signing-key.pem</c>), or null.</summary>
    public static CheckpointSigner? ResolveInDataDirectory(AuditOptions options, ILogger logger)
    {
        var path = GeneratedPath(options);
        if (!File.Exists(path))
        {
            return null;
        }

        var signer = CheckpointSigner.FromPemFile(path);
        Log.SigningKeyLoaded(logger, path, signer.KeyId);
        return signer;
    }

    /// <summary>Generates a key into the data directory (a host's first start without a configured key).</summary>
    /// <exception cref="AuditSigningKeyException">This process may not generate one (<see cref="AuditOptions.SignWithHostKeyOnly"/>).</exception>
    public static CheckpointSigner Generate(AuditOptions options, ILogger logger)
    {
        var path = GeneratedPath(options);
        if (options.ReadOnly)
        {
            // Read-only openings never get here (they take ResolvePublicKeyPem): a guard, not a path.
            throw new InvalidOperationException($"A read-only opening of the audit store generates no signing key ({path}).");
        }

        if (options.SignWithHostKeyOnly)
        {
            throw Missing(path);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privatePem = key.ExportPkcs8PrivateKeyPem();
        Write(path, privatePem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var publicPath = Path.Combine(Path.GetDirectoryName(path)!, GeneratedPublicFileName);
        var generated = CheckpointSigner.FromPem(privatePem);
        Write(publicPath, generated.PublicKeyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Log.SigningKeyGenerated(logger, path, publicPath, generated.KeyId);
        return generated;
    }

    /// <summary>Where a generated key is (or would be) kept.</summary>
    public static string GeneratedPath(AuditOptions options) => Path.GetFullPath(Path.Combine(options.DataDirectory, GeneratedFileName));

    /// <summary>The public half of the key this process was given explicitly (<see cref="ResolveGiven"/>), or null; a
    /// configured key file it may not read, or that is not there (a secret mounted on the host only), counts as not given:
    /// a read needs no key, and verification then names the key it could not check with.</summary>
    public static string? GivenPublicKeyPem(AuditOptions options)
    {
        var pem = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(pem))
        {
            using var signer = CheckpointSigner.FromPem(pem);
            return signer.PublicKeyPem;
        }

        return options.SigningKeyPath is { } configured ? PublicHalfOf(configured, required: false) : null;
    }

    /// <summary>No key to sign with, and this process may not generate one (<see cref="AuditOptions.SignWithHostKeyOnly"/>).</summary>
    public static AuditSigningKeyException Missing(string generatedPath) => new(
        $"no audit signing key: {EnvironmentVariable} is not set, Nv:Audit:SigningKeyPath is not configured and {generatedPath} does "
        + $"not exist; set {EnvironmentVariable} or Nv:Audit:SigningKeyPath, as the host does (only the host generates a key: "
        + "a checkpoint signed with a key of this process's own would never verify with the host's)");

    /// <summary>The public half of the key <see cref="Resolve"/> would sign with, for a read-only opening, which signs nothing:
    /// <c>NV_AUDIT_SIGNING_KEY</c>, else <see cref="AuditOptions.SigningKeyPath"/>, else the key in the data directory
    /// (<c>audit-signing-key.pem</c> when this process may read it, else <c>audit-signing-key.pub.pem</c>); null when none is
    /// there (a host that signs with a key this process was not given). Never generates or writes anything.</summary>
    /// <remarks>A configured key file this process may not read (the host's, mode 0600) or cannot find counts as not given.</remarks>
    public static string? ResolvePublicKeyPem(AuditOptions options)
    {
        if (options.SigningKeyPath is not null || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(EnvironmentVariable)))
        {
            return GivenPublicKeyPem(options);
        }

        var directory = Path.GetFullPath(options.DataDirectory);
        return PublicHalfOf(Path.Combine(directory, GeneratedFileName), required: false)
            ?? (File.Exists(Path.Combine(directory, GeneratedPublicFileName))
                ? CheckpointKeys.ReadPemFile(Path.Combine(directory, GeneratedPublicFileName), "public key")
                : null);
    }

    private static string? PublicHalfOf(string privateKeyPath, bool required)
    {
        if (!required && !File.Exists(privateKeyPath))
        {
            return null;
        }

        try
        {
            using var signer = CheckpointSigner.FromPemFile(privateKeyPath);
            return signer.PublicKeyPem;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    // Checked fsync through DurableFile: FileStream.Flush with flushToDisk ignores fsync errors on Linux (.NET 10).
    private static void Write(string path, string text, UnixFileMode mode) =>
        Nv.Wal.IO.DurableFile.Write(path, System.Text.Encoding.ASCII.GetBytes(text), overwrite: false, mode);
}
