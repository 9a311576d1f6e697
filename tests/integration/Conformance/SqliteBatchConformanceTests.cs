using Nv.DbWriter;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Conformance;

/// <summary>The batch conformance suite against the embedded SQLite writer, one fresh temp directory per test.</summary>
public sealed class SqliteBatchConformanceTests : BatchConformanceTests
{
    private readonly TempDirectory _directory = new();

    protected override Task<IDbWriter> OpenWriterAsync() =>
        Task.FromResult(DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path }));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
