using System.Reflection;
using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>The driver's <see cref="IMongoClient"/> of a <see cref="FakeMongoServer"/>: only sessions (for the batch
/// path's multi-document transactions, <see cref="FakeSession"/>).</summary>
public class FakeMongoClient : DispatchProxy
{
    private FakeMongoServer _server = null!;

    public static IMongoClient Create(FakeMongoServer server)
    {
        var proxy = Create<IMongoClient, FakeMongoClient>();
        ((FakeMongoClient)(object)proxy)._server = server;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        return targetMethod.Name switch
        {
            "StartSessionAsync" => Task.FromResult(FakeSession.Create(_server)),
            "StartSession" => FakeSession.Create(_server),
            _ => throw new NotSupportedException($"The fake client does not implement {targetMethod}."),
        };
    }
}
