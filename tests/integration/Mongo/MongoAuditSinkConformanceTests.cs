using Nv.Audit;
using Nv.Audit.Mongo;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The audit-sink conformance suite against the MongoDB sink (skipped, with the reason, without a server).</summary>
[Collection("mongo")]
public sealed class MongoAuditSinkConformanceTests(MongoFixture fixture) : AuditSinkConformanceTests
{
    private readonly string _database = MongoFixture.DatabaseFor(typeof(MongoAuditSinkConformanceTests));
    private bool _dropped;

    protected override async Task<IAuditSink> OpenSinkAsync()
    {
        var uri = fixture.RequireServer();
        if (!_dropped)
        {
            await fixture.DropAsync(_database, TestContext.Current.CancellationToken);
            _dropped = true;
        }

        return await MongoAuditSinks.OpenAsync(new AuditOptions { MongoUri = uri, MongoDatabase = _database, MaxBatchSize = 3 },
            cancellationToken: TestContext.Current.CancellationToken);
    }
}
