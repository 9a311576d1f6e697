namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>A file's bytes while an image is built: writes past the end extend it (the gap reads as zeros).</summary>
internal sealed class GrowableBuffer(byte[] initial)
{
    private byte[] _bytes = (byte[])initial.Clone();

    public long Length { get; private set; } = initial.Length;

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        var end = offset + data.Length;
        Reserve(end);
        if (offset > Length)
        {
            Array.Clear(_bytes, (int)Length, (int)(offset - Length));
        }

        data.CopyTo(_bytes.AsSpan((int)offset));
        Length = Math.Max(Length, end);
    }

    public void Resize(long size)
    {
        Reserve(size);
        if (size > Length)
        {
            Array.Clear(_bytes, (int)Length, (int)(size - Length));
        }

        Length = size;
    }

    public byte[] ToArray() => _bytes.AsSpan(0, (int)Length).ToArray();

    private void Reserve(long size)
    {
        if (size > _bytes.Length)
        {
            Array.Resize(ref _bytes, (int)Math.Max(size, Math.Min(int.MaxValue, _bytes.Length * 2L)));
        }
    }
}
