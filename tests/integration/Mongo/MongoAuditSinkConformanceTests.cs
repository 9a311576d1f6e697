using Nv.Audit;
using Nv.Audit.Mongo;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The audit-sink conformance suite against the MongoDB sink (skipped, with the reason, without a server).</summary>
[Collection("mongo")]
public sealed class MongoAuditSinkConformanceTests(MongoFixture fixture) : AuditSinkConformanceTests
{
    private readonly string _database = MongoFixture.DatabaseFor(typeof(MongoAuditSinkConformanceTests));
    private readonly Nv.Integration.Tests.Support.TempDirectory _keys = new(); // where the checkpoint signing key is generated
    private bool _dropped;

    protected override async Task<IAuditSink> OpenSinkAsync()
    {
        var uri = fixture.RequireServer();
        if (!_dropped)
        {
            await fixture.DropAsync(_database, TestContext.Current.CancellationToken);
            _dropped = true;
        }

        return await MongoAuditSinks.OpenAsync(new AuditOptions { MongoUri = uri, MongoDatabase = _database, MaxBatchSize = 3, DataDirectory = _keys.Path },
            cancellationToken: TestContext.Current.CancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _keys.Dispose();
    }
}
