using Nv.DbWriter;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Conformance;

/// <summary>The key-store conformance suite against the embedded SQLite writer.</summary>
public sealed class SqliteKeyStoreConformanceTests : KeyStoreConformanceTests
{
    private readonly TempDirectory _directory = new();

    protected override Task<IDbWriter> OpenWriterAsync() =>
        Task.FromResult(DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path, SecureDelete = true }));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
