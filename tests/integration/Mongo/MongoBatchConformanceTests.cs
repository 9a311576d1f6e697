using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Integration.Tests.Conformance;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The batch conformance suite against the MongoDB writer in multi-document transactions; needs a replica set
/// (the Testcontainers server is one). Skipped, with the reason, without a server.</summary>
[Collection("mongo")]
public sealed class MongoBatchConformanceTests(MongoFixture fixture) : BatchConformanceTests
{
    private readonly string _database = MongoFixture.DatabaseFor(typeof(MongoBatchConformanceTests));
    private bool _dropped;

    protected override async Task<IDbWriter> OpenWriterAsync()
    {
        var uri = fixture.RequireServer();
        if (!_dropped)
        {
            await fixture.DropAsync(_database, TestContext.Current.CancellationToken);
            _dropped = true;
        }

        var writer = await MongoDbWriters.OpenAsync(new DbWriterOptions { MongoUri = uri, MongoDatabase = _database },
            cancellationToken: TestContext.Current.CancellationToken);
        if (writer.BatchesUnsupportedReason is { } reason)
        {
            await writer.DisposeAsync();
            Assert.Skip("The MongoDB server is standalone: " + reason);
        }

        return writer;
    }
}
