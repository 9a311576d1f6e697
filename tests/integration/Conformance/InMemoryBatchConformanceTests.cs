using Nv.DbWriter;

namespace Nv.Integration.Tests.Conformance;

/// <summary>The batch conformance suite against the in-memory store of the in-memory mode.</summary>
public sealed class InMemoryBatchConformanceTests : BatchConformanceTests
{
    private readonly IDbWriter _store = DbWriters.CreateInMemory();

    protected override Task<IDbWriter> OpenWriterAsync() => Task.FromResult<IDbWriter>(new KeptOpen(_store));
}
