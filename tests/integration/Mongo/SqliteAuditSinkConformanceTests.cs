using Nv.Audit;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The audit-sink conformance suite against the SQLite sink: it proves the suite itself where no MongoDB server runs.</summary>
public sealed class SqliteAuditSinkConformanceTests : AuditSinkConformanceTests
{
    private readonly TempDirectory _directory = new();

    protected override Task<IAuditSink> OpenSinkAsync() =>
        Task.FromResult(AuditSinks.OpenSqlite(new AuditOptions { DataDirectory = _directory.Path }));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
