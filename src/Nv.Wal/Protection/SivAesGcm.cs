using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Nv.Wal.Protection;

/// <summary>AES-256-GCM with a synthetic nonce (the SIV construction of RFC 5297, with GCM as the cipher): the 96-bit
/// nonce is the first 12 bytes of <c>HMAC-SHA256(Kn, u32be(|ad|) ‖ ad ‖ plaintext)</c>, under a nonce key separate from
/// the cipher key (both derived from one 256-bit key with HKDF-SHA256).</summary>
/// <remarks>
/// Why the nonce never repeats for two different messages under one key: it is a pseudo-random function of the whole
/// message (associated data and plaintext). Two encryptions share a nonce only if (a) they are the same message, and then
/// they produce the same ciphertext, which reveals nothing but that equality (and every Nv message binds a unique id: a
/// WAL record id, an audit entry id or a data key id); or (b) two different messages collide in the first 96 bits of
/// HMAC-SHA256, with probability at most q(q−1)/2^97 for q messages under one key: below 2^-33 even after 2^32 messages
/// (the bound NIST SP 800-38D sets for random nonces), and a data key serves one subject. Unlike a counter or an
/// LSN-derived nonce it stays safe when a crash makes Nv encrypt again (a WAL tail cut and re-appended with a new payload
/// under a reused LSN, an audit entry rebuilt after a power loss), and unlike a random nonce it makes a rebuilt entry
/// byte-identical to the lost one. Thread-safe: the GCM context is used under a lock.
/// </remarks>
internal sealed class SivAesGcm : IDisposable
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    private static readonly byte[] CipherInfo = "nv siv-aes-256-gcm v1 cipher"u8.ToArray();
    private static readonly byte[] NonceInfo = "nv siv-aes-256-gcm v1 nonce"u8.ToArray();

    private readonly AesGcm _gcm;
    private readonly byte[] _nonceKey;
    private readonly Lock _gate = new();

    public SivAesGcm(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"A key is {KeySize} bytes, not {key.Length}.", nameof(key));
        }

        Span<byte> cipherKey = stackalloc byte[KeySize];
        HKDF.Expand(HashAlgorithmName.SHA256, key, cipherKey, CipherInfo);
        _gcm = new AesGcm(cipherKey, TagSize);
        CryptographicOperations.ZeroMemory(cipherKey);
        _nonceKey = new byte[KeySize];
        HKDF.Expand(HashAlgorithmName.SHA256, key, _nonceKey, NonceInfo);
    }

    /// <summary>The synthetic nonce of a message.</summary>
    public void Nonce(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> nonce)
    {
        var length = 4 + associatedData.Length + plaintext.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)associatedData.Length);
            associatedData.CopyTo(buffer.AsSpan(4));
            plaintext.CopyTo(buffer.AsSpan(4 + associatedData.Length));
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_nonceKey, buffer.AsSpan(0, length), mac);
            mac[..NonceSize].CopyTo(nonce);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Encrypts: writes nonce (12) ‖ tag (16) ‖ ciphertext (as long as the plaintext) to <paramref name="output"/>.</summary>
    public void Seal(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        var nonce = output[..NonceSize];
        Nonce(associatedData, plaintext, nonce);
        lock (_gate)
        {
            _gcm.Encrypt(nonce, plaintext, output.Slice(NonceSize + TagSize, plaintext.Length), output.Slice(NonceSize, TagSize), associatedData);
        }
    }

    /// <summary>Decrypts what <see cref="Seal"/> wrote; false when the tag does not verify (damage, tampering, another key
    /// or other associated data).</summary>
    public bool TryOpen(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> sealedBytes, Span<byte> plaintext)
    {
        if (sealedBytes.Length < NonceSize + TagSize || plaintext.Length != sealedBytes.Length - NonceSize - TagSize)
        {
            return false;
        }

        try
        {
            lock (_gate)
            {
                _gcm.Decrypt(sealedBytes[..NonceSize], sealedBytes[(NonceSize + TagSize)..], sealedBytes.Slice(NonceSize, TagSize), plaintext, associatedData);
            }

            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }
    }

    public void Dispose()
    {
        _gcm.Dispose();
        CryptographicOperations.ZeroMemory(_nonceKey);
    }
}
