using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Integration.Tests.Conformance;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The key-store conformance suite against the MongoDB writer (skipped, with the reason, without a server; batches
/// need a replica set).</summary>
[Collection("mongo")]
public sealed class MongoKeyStoreConformanceTests(MongoFixture fixture) : KeyStoreConformanceTests
{
    private readonly string _database = MongoFixture.DatabaseFor(typeof(MongoKeyStoreConformanceTests));
    private bool _dropped;

    protected override async Task<IDbWriter> OpenWriterAsync()
    {
        var uri = fixture.RequireServer();
        if (!_dropped)
        {
            await fixture.DropAsync(_database, TestContext.Current.CancellationToken);
            _dropped = true;
        }

        return await MongoDbWriters.OpenAsync(new DbWriterOptions { MongoUri = uri, MongoDatabase = _database },
            cancellationToken: TestContext.Current.CancellationToken);
    }
}
