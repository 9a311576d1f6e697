namespace Nv.Wal.Framing;

/// <summary>What <see cref="WalFrame.Check"/> found.</summary>
internal enum FrameStatus
{
    /// <summary>An intact frame in a format this build reads.</summary>
    Valid,

    /// <summary>Bytes that are not an intact frame (bad magic, length or CRC, or a non-positive sequence).</summary>
    Damaged,

    /// <summary>An intact frame (magic, length and CRC check) in a format or with header flags only a newer Nv writes.</summary>
    Newer,
}
