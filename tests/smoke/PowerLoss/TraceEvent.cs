namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>A modelled change: <see cref="Kind"/> (create, mkdir, rename, unlink, write, truncate, fsync) of
/// <see cref="Path"/> (relative to the root), with the first bytes written for writes.</summary>
internal sealed record TraceEvent(int Entry, int Exit, string Kind, string Path, byte[]? Data = null);
