using System.Buffers.Binary;
using System.Text;

namespace Nv.Smoke.Tests.Verify;

/// <summary>The audit store's compressed JSON column form, decoded here from the LZ4 block format specification (no
/// library, no Nv code): a BLOB is 0x4C 'L', the text's length as a little-endian uint32, then one LZ4 block; a TEXT
/// value is the JSON text itself.</summary>
internal static class Lz4Block
{
    public static string? Text(object? column) => column switch
    {
        null => null,
        string text => text,
        byte[] blob => Decode(blob),
        _ => throw new InvalidDataException($"an audit JSON column holds a {column.GetType().Name}"),
    };

    private static string Decode(byte[] blob)
    {
        if (blob.Length < 5 || blob[0] != 0x4C)
        {
            throw new InvalidDataException("a compressed audit column does not start with 0x4C");
        }

        var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(1));
        var output = new List<byte>(size);
        var i = 5;
        while (i < blob.Length)
        {
            var token = blob[i++];
            var literals = token >> 4;
            if (literals == 15)
            {
                byte b;
                do
                {
                    b = blob[i++];
                    literals += b;
                }
                while (b == 255);
            }

            output.AddRange(blob.AsSpan(i, literals).ToArray());
            i += literals;
            if (i >= blob.Length)
            {
                break;
            }

            var offset = blob[i] | (blob[i + 1] << 8);
            i += 2;
            if (offset == 0 || offset > output.Count)
            {
                throw new InvalidDataException("bad LZ4 match offset");
            }

            var match = (token & 15) + 4;
            if ((token & 15) == 15)
            {
                byte b;
                do
                {
                    b = blob[i++];
                    match += b;
                }
                while (b == 255);
            }

            for (var k = 0; k < match; k++)
            {
                output.Add(output[^offset]); // byte by byte: a match may overlap its own output
            }
        }

        if (output.Count != size)
        {
            throw new InvalidDataException("an LZ4 block does not decode to its recorded length");
        }

        return Encoding.UTF8.GetString(output.ToArray());
    }
}
