using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>A cursor over results already computed: one batch.</summary>
public sealed class FakeCursor<T>(IReadOnlyList<T> items) : IAsyncCursor<T>
{
    private bool _moved;

    public IEnumerable<T> Current => _moved ? items : throw new InvalidOperationException("MoveNext first.");

    public bool MoveNext(CancellationToken cancellationToken = default)
    {
        if (_moved)
        {
            return false;
        }

        _moved = true;
        return true;
    }

    public Task<bool> MoveNextAsync(CancellationToken cancellationToken = default) => Task.FromResult(MoveNext(cancellationToken));

    public void Dispose()
    {
    }
}
