using System.Globalization;
using Nv.Wal.Protection;

namespace Nv.Wal.Framing;

/// <summary>Recovery's check that an intact record body uses only what this build reads.</summary>
/// <remarks>Recovery checks every frame but never decoded bodies, so a log holding records with flags a newer Nv added
/// opened, took appends, and failed only when a reader reached them ("passed its CRC but does not decode"). Each format's
/// extension points are checked here without decoding anything (no UTF-8, no JSON, no key): format 1's record flags, format
/// 2's record kind and item flags, and the payload envelope's kind and sealed-value header. A body that does not parse is no
/// newer format: reads report it as damage, as before.</remarks>
internal static partial class WalRecordCodec
{
    private const byte KnownRecordFlags = HasExpectedLsn | HasFingerprint | PayloadEnvelope | HasSubject | HasEventHeader;
    private const byte KnownItemFlags = ItemHasExpectedLsn | ItemPayloadEnvelope | ItemHasSubject;

    /// <summary>What in this body (of a frame in <paramref name="format"/>, already validated) only a newer Nv writes, and
    /// what this build reads instead; null when there is nothing newer (or the body does not parse).</summary>
    public static (string Found, string Supported)? NewerFeature(ReadOnlySpan<byte> body, byte format)
    {
        try
        {
            var r = new SpanReader(body);
            return format == WalFrame.FormatVersion2 ? NewerInBatch(ref r) : NewerInRecord(ref r);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static (string, string)? NewerInRecord(ref SpanReader r)
    {
        r.Take(16);
        Skip(ref r);
        r.Take(4 + 8 + 2 + 1);
        for (var i = 0; i < 6; i++)
        {
            Skip(ref r); // dtoType, entityId, replayKey, requestId, userId, reason
        }

        var payload = Field(ref r);
        SkipMetadata(ref r);
        var flags = r.Byte();
        if ((flags & ~KnownRecordFlags) != 0)
        {
            return (Hex("record format 1 with record flags", flags), Hex("record flags", KnownRecordFlags));
        }

        return (flags & PayloadEnvelope) != 0 ? NewerEnvelope(payload) : null;
    }

    private static (string, string)? NewerInBatch(ref SpanReader r)
    {
        var kind = r.Byte();
        if (kind is not (BatchKind or FingerprintedBatchKind))
        {
            return (string.Create(CultureInfo.InvariantCulture, $"record format 2 of kind {kind}"),
                string.Create(CultureInfo.InvariantCulture, $"kind {FingerprintedBatchKind}"));
        }

        r.Take((kind == FingerprintedBatchKind ? FingerprintBytes : 0) + 16);
        Skip(ref r);
        r.Take(8 + 2);
        for (var i = 0; i < 3; i++)
        {
            Skip(ref r); // requestId, userId, reason
        }

        SkipMetadata(ref r);
        var count = r.Int32();
        for (var i = 0; i < count; i++)
        {
            r.Take(16 + 1 + 4);
            for (var s = 0; s < 3; s++)
            {
                Skip(ref r); // dtoType, entityId, replayKey
            }

            var payload = Field(ref r);
            var flags = r.Byte();
            r.Take(8);
            if ((flags & ~KnownItemFlags) != 0)
            {
                return (Hex("record format 2 with batch item flags", flags), Hex("batch item flags", KnownItemFlags));
            }

            if ((flags & ItemHasSubject) != 0)
            {
                Skip(ref r);
            }

            if ((flags & ItemPayloadEnvelope) != 0 && NewerEnvelope(payload) is { } newer)
            {
                return newer;
            }
        }

        return null;
    }

    // The payload envelope's kind, and a sealed value's version and flags (authenticated, so never damage that passed).
    private static (string, string)? NewerEnvelope(ReadOnlySpan<byte> envelope)
    {
        if (envelope.IsEmpty)
        {
            return null;
        }

        if (envelope[0] is not (PayloadLz4 or PayloadSealed))
        {
            return (Hex("payload envelope kind", envelope[0]), Hex("payload envelope kind", PayloadSealed));
        }

        if (envelope[0] == PayloadSealed && envelope.Length >= 17 + SealedEnvelope.HeaderLength
            && (envelope[17] > SealedEnvelope.Version || (envelope[18] & ~SealedEnvelope.Compressed) != 0))
        {
            return (string.Create(CultureInfo.InvariantCulture, $"sealed payload version {envelope[17]} with flags 0x{envelope[18]:x2}"),
                string.Create(CultureInfo.InvariantCulture, $"sealed payload version {SealedEnvelope.Version} with flags 0x{SealedEnvelope.Compressed:x2}"));
        }

        return null;
    }

    private static ReadOnlySpan<byte> Field(ref SpanReader r)
    {
        var n = r.Int32();
        return n < 0 ? default : r.Take(n);
    }

    private static void Skip(ref SpanReader r) => Field(ref r);

    private static void SkipMetadata(ref SpanReader r)
    {
        var pairs = r.Int32();
        if (pairs < 0)
        {
            throw new FormatException("bad metadata count");
        }

        for (var i = 0; i < pairs; i++)
        {
            Skip(ref r);
            Skip(ref r);
        }
    }

    private static string Hex(string what, byte value) => string.Create(CultureInfo.InvariantCulture, $"{what} 0x{value:x2}");
}
