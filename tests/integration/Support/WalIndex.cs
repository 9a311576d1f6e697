using System.Buffers.Binary;

namespace Nv.Integration.Tests.Support;

/// <summary>How many frames an SQLite database's WAL file holds, as its wal-index (<c>-shm</c>) header says: a commit that
/// wrote a frame raises it; one that changed no page (and so, even with <c>synchronous=FULL</c>, synced nothing) leaves it.
/// It falls back to 0 only when a checkpoint restarts the WAL file (tests hold the background checkpointer while they
/// look, <see cref="CheckpointHold"/>).</summary>
internal static class WalIndex
{
    private const int MaxFrameOffset = 16; // WalIndexHdr: iVersion, unused, iChange, isInit, bigEndCksum, szPage, then mxFrame

    public static uint Frames(string databasePath)
    {
        using var shm = new FileStream(databasePath + "-shm", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[MaxFrameOffset + 4];
        shm.ReadExactly(header);
        return BitConverter.IsLittleEndian
            ? BinaryPrimitives.ReadUInt32LittleEndian(header[MaxFrameOffset..])
            : BinaryPrimitives.ReadUInt32BigEndian(header[MaxFrameOffset..]); // the wal-index is in the machine's byte order
    }
}
