namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>A change to directory entries: <see cref="Name"/> in <see cref="Dir"/> now names <see cref="Target"/>
/// (create, mkdir, or the destination of a rename from <see cref="FromDir"/>/<see cref="FromName"/>), or is removed
/// (<see cref="Target"/> null: unlink, rmdir).</summary>
internal sealed record DirOp(int Entry, int Exit, FsNode Dir, string Name, FsNode? Target, FsNode? FromDir, string? FromName, FsNode? Removed)
{
    public bool Finished => Exit != int.MaxValue;
}
