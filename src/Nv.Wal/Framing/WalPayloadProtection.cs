using Nv.Wal.Protection;

namespace Nv.Wal.Framing;

/// <summary>How the record codec stores payloads: the data keys it seals and opens them with (null: none, a sealed
/// payload reads as unavailable and a record naming a key cannot be written), and whether it compresses them.</summary>
internal sealed record WalPayloadProtection(IDataKeyProvider? Keys, bool Compress)
{
    /// <summary>Plain payloads, no keys: what every build before payload format 2 wrote.</summary>
    public static WalPayloadProtection None { get; } = new(null, false);
}
