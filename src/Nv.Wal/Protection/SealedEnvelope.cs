namespace Nv.Wal.Protection;

/// <summary>The byte format of a sealed value: <c>version (0x01) | flags | nonce (12) | tag (16) | ciphertext</c>.</summary>
/// <remarks>Flags bit 0: the plaintext inside is compressed (<see cref="PayloadCompression"/>); other bits must be 0. The
/// two header bytes are authenticated with the caller's associated data (they are prepended to it), so neither can be
/// changed without the tag failing. See docs/data-at-rest.md.</remarks>
internal static class SealedEnvelope
{
    public const byte Version = 1;
    public const byte Compressed = 1;
    public const int HeaderLength = 2;
    public const int Overhead = HeaderLength + SivAesGcm.NonceSize + SivAesGcm.TagSize;

    /// <summary>Largest plaintext a sealed value may unpack to (a WAL record is at most 1 GiB by configuration limits).</summary>
    public const int MaxPlaintext = 1 << 30;

    public static byte[] Seal(SivAesGcm cipher, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, bool compress)
    {
        var packed = compress ? PayloadCompression.TryCompress(plaintext) : null;
        ReadOnlySpan<byte> inner = packed is null ? plaintext : packed;
        var output = new byte[Overhead + inner.Length];
        output[0] = Version;
        output[1] = packed is null ? (byte)0 : Compressed;
        var ad = AssociatedData(output.AsSpan(0, HeaderLength), associatedData);
        cipher.Seal(ad, inner, output.AsSpan(HeaderLength));
        return output;
    }

    public static byte[] Open(SivAesGcm cipher, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData, Guid keyId)
    {
        if (sealedBytes.Length < Overhead || sealedBytes[0] != Version || (sealedBytes[1] & ~Compressed) != 0)
        {
            throw new PayloadSealException($"A value sealed under data key {keyId} has an unknown format or is cut short.", keyId);
        }

        var ad = AssociatedData(sealedBytes[..HeaderLength], associatedData);
        var inner = new byte[sealedBytes.Length - Overhead];
        if (!cipher.TryOpen(ad, sealedBytes[HeaderLength..], inner))
        {
            throw new PayloadSealException(
                $"A value sealed under data key {keyId} does not authenticate: it was changed, moved to another record, or sealed under another key.", keyId);
        }

        if ((sealedBytes[1] & Compressed) == 0)
        {
            return inner;
        }

        try
        {
            return PayloadCompression.Decompress(inner, MaxPlaintext);
        }
        catch (FormatException ex)
        {
            throw new PayloadSealException($"A value sealed under data key {keyId} authenticates but does not decompress.", keyId, ex);
        }
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, ReadOnlySpan<byte> associatedData)
    {
        var ad = new byte[header.Length + associatedData.Length];
        header.CopyTo(ad);
        associatedData.CopyTo(ad.AsSpan(header.Length));
        return ad;
    }
}
