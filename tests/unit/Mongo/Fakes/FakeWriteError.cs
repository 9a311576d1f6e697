namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>A write error of one operation inside the fake server (turned into the driver's exception at the boundary).</summary>
internal sealed class FakeWriteError(int code, string message) : Exception(message)
{
    public int Code { get; } = code;
}
