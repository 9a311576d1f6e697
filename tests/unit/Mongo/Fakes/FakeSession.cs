using System.Reflection;
using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>A session of a <see cref="FakeMongoServer"/> with the smallest multi-document transaction that is still one:
/// the operations inside run at once (the fake serves one caller at a time, so nothing else sees them meanwhile), and an
/// abort (or a dispose inside the transaction) puts every collection back as it was when the transaction started. A
/// commit runs as the operation "commitTransaction" (hooks can fail it; the transaction then stays open, as the driver
/// leaves it for the caller to abort).</summary>
public class FakeSession : DispatchProxy
{
    private FakeMongoServer _server = null!;
    private object? _snapshot;

    public static IClientSessionHandle Create(FakeMongoServer server)
    {
        var proxy = Create<IClientSessionHandle, FakeSession>();
        ((FakeSession)(object)proxy)._server = server;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case "get_IsInTransaction":
                return _snapshot is not null;
            case "StartTransaction":
                if (_snapshot is not null)
                {
                    throw new InvalidOperationException("Transaction already in progress.");
                }

                _server.Run(new FakeOperation("startTransaction", "", "", null, null));
                _snapshot = _server.Snapshot();
                return null;
            case "CommitTransactionAsync":
                _server.Run(new FakeOperation("commitTransaction", "", "", null, null));
                _snapshot = null;
                _server.Ran(new FakeOperation("commitTransaction", "", "", null, null));
                return Task.CompletedTask;
            case "AbortTransactionAsync":
                Abort();
                return Task.CompletedTask;
            case "Dispose":
                Abort();
                return null;
            default:
                throw new NotSupportedException($"The fake session does not implement {targetMethod}.");
        }
    }

    private void Abort()
    {
        if (_snapshot is { } snapshot)
        {
            _server.Record(new FakeOperation("abortTransaction", "", "", null, null));
            _server.Restore(snapshot);
            _snapshot = null;
        }
    }
}
