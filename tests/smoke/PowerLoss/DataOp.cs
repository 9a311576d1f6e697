namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>A change to a file's bytes: a write (<see cref="Data"/> at <see cref="Offset"/>), a truncation to
/// <see cref="Size"/>, or (<see cref="ExtendOnly"/>) a size extension such as fallocate.</summary>
internal sealed record DataOp(int Entry, int Exit, long Offset, byte[]? Data, long Size, bool ExtendOnly, bool SyncFd)
{
    public bool Finished => Exit != int.MaxValue;

    public long End => Data is null ? Size : Offset + Data.Length;
}
