using System.Security.Cryptography;
using System.Text;
using Nv.Wal.IO;

namespace Nv.Wal.Protection;

/// <summary>A master key read from a file (<c>NV_MASTER_KEY_FILE</c>): 32 random bytes, base64-encoded (what
/// <c>nv keys new-master --out FILE</c> writes), or the 32 raw bytes themselves.</summary>
/// <remarks>
/// Data keys are wrapped with AES-256-GCM (synthetic nonce, see <see cref="DataKey"/>) bound to the data key's id, so a
/// wrapped key cannot be moved to another id. The key id is <c>mk-</c> and the first 8 bytes of
/// <c>SHA-256("nv-master-key-id\0" ‖ key)</c> in hex: it names the key without revealing it, so a wrong key file is
/// recognised before anything is decrypted. Keep the file outside the data directory and its backups (see README,
/// "Erasure"). Thread-safe.
/// </remarks>
public sealed class FileMasterKeyProvider : IMasterKeyProvider, IDisposable
{
    /// <summary>Length of a master key in bytes.</summary>
    public const int KeySize = SivAesGcm.KeySize;

    private static readonly byte[] WrapContext = "nv-data-key-wrap-v1"u8.ToArray();
    private readonly SivAesGcm _cipher;

    private FileMasterKeyProvider(ReadOnlySpan<byte> key, string source)
    {
        Source = source;
        KeyId = IdOf(key);
        _cipher = new SivAesGcm(key);
    }

    /// <inheritdoc />
    public string KeyId { get; }

    /// <summary>Where the key was read from.</summary>
    public string Source { get; }

    /// <summary>Reads the key file.</summary>
    /// <exception cref="MasterKeyException">The file is missing, unreadable, or holds neither base64 of 32 bytes nor 32 bytes.</exception>
    public static FileMasterKeyProvider Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MasterKeyException($"The master key file {path} cannot be read ({ex.GetType().Name}: {ex.Message}).", ex);
        }

        try
        {
            var key = Parse(content, path);
            try
            {
                return new FileMasterKeyProvider(key, path);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    /// <summary>A provider for a key held in memory (tests, tools).</summary>
    /// <exception cref="ArgumentException">The key is not <see cref="KeySize"/> bytes.</exception>
    public static FileMasterKeyProvider FromKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"A master key is {KeySize} bytes, not {key.Length}.", nameof(key));
        }

        return new FileMasterKeyProvider(key, "memory");
    }

    /// <summary>Writes a new random master key to <paramref name="path"/> (base64 and a newline, mode 0600, durably) and
    /// returns its id. Refuses to overwrite an existing file.</summary>
    /// <exception cref="IOException">The file exists, the path names a directory, or the file could not be written durably
    /// (then the temp file the key was written to is deleted, see <see cref="DurableFile.Write"/>).</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or white space.</exception>
    public static string CreateKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path) || Path.EndsInDirectorySeparator(path))
        {
            throw new IOException($"{path} names a directory; a master key file needs a file name.");
        }

        if (File.Exists(path))
        {
            throw new IOException($"{path} already exists; a master key file is never overwritten (move it away first).");
        }

        var key = RandomNumberGenerator.GetBytes(KeySize);
        try
        {
            var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n");
            DurableFile.Write(path, text, overwrite: false, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return IdOf(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The id of a master key (see the class remarks).</summary>
    public static string IdOf(ReadOnlySpan<byte> key)
    {
        Span<byte> input = stackalloc byte[17 + KeySize];
        "nv-master-key-id\0"u8.CopyTo(input);
        key.CopyTo(input[17..]);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, digest);
        CryptographicOperations.ZeroMemory(input);
        return "mk-" + Convert.ToHexStringLower(digest[..8]);
    }

    /// <inheritdoc />
    public byte[] Wrap(Guid dataKeyId, ReadOnlySpan<byte> keyMaterial)
    {
        if (keyMaterial.Length != DataKey.KeyMaterialSize)
        {
            throw new ArgumentException($"A data key is {DataKey.KeyMaterialSize} bytes.", nameof(keyMaterial));
        }

        return SealedEnvelope.Seal(_cipher, keyMaterial, Context(dataKeyId), compress: false);
    }

    /// <inheritdoc />
    public byte[] Unwrap(string masterKeyId, Guid dataKeyId, ReadOnlySpan<byte> wrappedKey)
    {
        if (!string.Equals(masterKeyId, KeyId, StringComparison.Ordinal))
        {
            throw new MasterKeyException(
                $"Data key {dataKeyId} is wrapped by master key {masterKeyId}, but the master key file {Source} holds {KeyId}.");
        }

        try
        {
            var material = SealedEnvelope.Open(_cipher, wrappedKey, Context(dataKeyId), dataKeyId);
            if (material.Length != DataKey.KeyMaterialSize)
            {
                throw new MasterKeyException($"Data key {dataKeyId} unwraps to {material.Length} bytes, not {DataKey.KeyMaterialSize}.");
            }

            return material;
        }
        catch (PayloadSealException ex)
        {
            throw new MasterKeyException($"Data key {dataKeyId} does not unwrap with master key {KeyId}: the stored key was changed or damaged.", ex);
        }
    }

    /// <summary>Wipes the key from memory.</summary>
    public void Dispose() => _cipher.Dispose();

    private static byte[] Context(Guid dataKeyId)
    {
        var context = new byte[WrapContext.Length + 16];
        WrapContext.CopyTo(context, 0);
        dataKeyId.TryWriteBytes(context.AsSpan(WrapContext.Length), bigEndian: true, out _);
        return context;
    }

    private static byte[] Parse(byte[] content, string path)
    {
        var text = Encoding.ASCII.GetString(content).Trim();
        if (text.Length > 0 && text.Length <= 64 && text.All(static c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
        {
            var decoded = new byte[48];
            if (Convert.TryFromBase64String(text, decoded, out var written) && written == KeySize)
            {
                return decoded[..KeySize];
            }
        }

        if (content.Length == KeySize)
        {
            return (byte[])content.Clone();
        }

        throw new MasterKeyException(
            $"The master key file {path} holds {content.Length} bytes that are neither base64 of {KeySize} bytes nor {KeySize} raw bytes (create one with: nv keys new-master --out FILE).");
    }
}
