using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Integration.Tests.Conformance;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The store-agnostic conformance suite against the MongoDB writer (skipped, with the reason, without a server).</summary>
[Collection("mongo")]
public sealed class MongoDbWriterConformanceTests(MongoFixture fixture) : DbWriterConformanceTests
{
    private readonly string _database = MongoFixture.DatabaseFor(typeof(MongoDbWriterConformanceTests));
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

    /// <summary>Fails the batch after its outcomes are stored (pending) and before any entity is written, as a lost
    /// connection would: nothing becomes visible, and the retry completes the batch from the stored outcomes.</summary>
    protected override Task<IAsyncDisposable> InjectTransientFailureAsync(IDbWriter writer)
    {
        var mongo = (MongoDbWriter)writer;
        mongo.FailBefore = step => step == "entity-writes";
        return Task.FromResult<IAsyncDisposable>(new Restore(mongo));
    }

    private sealed class Restore(MongoDbWriter writer) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            writer.FailBefore = null;
            return ValueTask.CompletedTask;
        }
    }
}
