using System.Text.Json;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Mongo;

/// <summary>MongoDB-only behaviour: completing a batch that failed after its entity writes, durability settings.</summary>
[Collection("mongo")]
public sealed class MongoDbWriterTests(MongoFixture fixture) : IAsyncLifetime
{
    private readonly string _database = MongoFixture.DatabaseFor(typeof(MongoDbWriterTests));
    private MongoDbWriter? _writer;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private MongoDbWriter Writer => _writer ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync()
    {
        var uri = fixture.RequireServer();
        await fixture.DropAsync(_database, Ct);
        _writer = (MongoDbWriter)await MongoDbWriters.OpenAsync(new DbWriterOptions { MongoUri = uri, MongoDatabase = _database }, cancellationToken: Ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_failure_after_the_entity_writes_is_completed_by_the_retry_with_the_original_before_images()
    {
        await Writer.ApplyAsync([Create(1, "o1", """{"v":1}""")], Ct);
        WalRecord[] batch = [Update(2, "o1", """{"v":2}"""), Create(3, "o3", """{"v":3}"""), Update(4, "missing", "{}")];

        Writer.FailBefore = step => step == "clear-pending";
        var failed = await Writer.ApplyAsync(batch, Ct);
        Writer.FailBefore = null;

        Assert.All(failed, r => Assert.Equal(ApplyStatus.Transient, r.Status));
        Assert.Equal(new Lsn(1), await Writer.GetResolvedThroughAsync(Ct));
        Assert.Null(await Writer.FindByRequestIdAsync("req-2", Ct)); // pending outcomes stay invisible

        var retried = await Writer.ApplyAsync(batch, Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied, ApplyStatus.Rejected], retried.Select(r => r.Status));
        Assert.True(JsonElement.DeepEquals(Json("""{"v":1}"""), retried[0].Before!.Value));
        Assert.Null(retried[1].Before);
        Assert.Equal(new Lsn(4), await Writer.GetResolvedThroughAsync(Ct));
        Assert.Equal(new Lsn(2), (await Writer.GetAsync(DefaultType, "o1", Ct))!.Lsn);

        var again = await Writer.ApplyAsync(batch, Ct);
        Assert.Equal([ApplyStatus.AlreadyApplied, ApplyStatus.AlreadyApplied, ApplyStatus.Rejected], again.Select(r => r.Status));
        Assert.True(JsonElement.DeepEquals(Json("""{"v":1}"""), again[0].Before!.Value));
    }

    [Fact]
    public async Task Writes_are_journaled()
    {
        await Writer.InitializeAsync(Ct);
        Assert.True(Writer.WriteConcern.Journal);
    }

    [Fact]
    public async Task Unsafe_payload_keys_are_refused_and_nothing_is_written()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Writer.ApplyAsync(
            [Create(1, "ok", "{}"), Create(2, "bad", """{"$inc":{"n":1}}""")], Ct));
        Assert.Null(await Writer.GetAsync(DefaultType, "ok", Ct));
        Assert.Equal(Lsn.None, await Writer.GetResolvedThroughAsync(Ct));
    }
}
