using Nv.DbWriter;

namespace Nv.Integration.Tests.Conformance;

/// <summary>The conformance suite against the in-memory store of the in-memory mode (DbWriters.CreateInMemory): the same
/// rules as SQLite and MongoDB.</summary>
public sealed class InMemoryDbWriterConformanceTests : DbWriterConformanceTests
{
    private readonly IDbWriter _store = DbWriters.CreateInMemory();

    protected override Task<IDbWriter> OpenWriterAsync() => Task.FromResult<IDbWriter>(new KeptOpen(_store));

    protected override Task<IAsyncDisposable> InjectTransientFailureAsync(IDbWriter writer)
    {
        Assert.Skip("The in-memory store has no transient failures to inject (it applies a call's records all together or throws before any).");
        return Task.FromResult<IAsyncDisposable>(null!);
    }
}
