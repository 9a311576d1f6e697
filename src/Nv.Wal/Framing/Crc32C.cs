using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Nv.Wal.Framing;

/// <summary>CRC-32C (Castagnoli), hardware-accelerated with SSE4.2 when available, table-driven otherwise.</summary>
internal static class Crc32C
{
    private const uint Polynomial = 0x82F63B78u; // reflected Castagnoli polynomial
    private static readonly uint[] Table = CreateTable();

    /// <summary>CRC of <paramref name="data"/> (initial value 0, final xor applied).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues <paramref name="crc"/> (a previous result) over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var state = ~crc;
        if (Sse42.X64.IsSupported)
        {
            ulong state64 = state;
            while (data.Length >= 8)
            {
                state64 = Sse42.X64.Crc32(state64, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            state = (uint)state64;
            foreach (var b in data)
            {
                state = Sse42.Crc32(state, b);
            }
        }
        else
        {
            state = Software(state, data);
        }

        return ~state;
    }

    internal static uint Software(uint state, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            state = Table[(state ^ b) & 0xFF] ^ (state >> 8);
        }

        return state;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? Polynomial ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
