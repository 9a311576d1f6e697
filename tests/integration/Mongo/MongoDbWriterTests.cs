using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Driver;
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
    public async Task Unsafe_payload_keys_are_rejected_and_the_batch_goes_on()
    {
        var results = await Writer.ApplyAsync([Create(1, "ok", "{}"), Create(2, "bad", """{"$inc":{"n":1}}""")], Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Rejected], results.Select(r => r.Status));
        Assert.Equal(RejectReason.Unstorable, results[1].RejectReason);
        Assert.NotNull(await Writer.GetAsync(DefaultType, "ok", Ct));
        Assert.Null(await Writer.GetAsync(DefaultType, "bad", Ct));
        Assert.Equal(new Lsn(2), await Writer.GetResolvedThroughAsync(Ct));
    }

    /// <summary>Issue 19 item 4 on a real server: a number no BSON type holds, a document over 16 MiB of BSON and one
    /// nested past MongoDB's limit are each rejected, and the records around them apply.</summary>
    [Fact]
    public async Task Documents_mongodb_cannot_hold_are_rejected_without_stopping_the_writer()
    {
        var large = "{\"a\":[" + string.Join(",", Enumerable.Repeat("1", 1_500_000)) + "]}";
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 120)) + "{}" + new string('}', 120);
        WalRecord[] batch =
        [
            Create(1, "a", "{}"),
            Create(2, "n", """{"n":12345678901234567890123456789012345}"""),
            Create(3, "l", large),
            Create(4, "d", "{}") with { Payload = JsonDocument.Parse(deep, new JsonDocumentOptions { MaxDepth = 256 }).RootElement.Clone() },
            Create(5, "z", "{}"),
        ];

        var results = await Writer.ApplyAsync(batch, Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Applied],
            results.Select(r => r.Status));
        Assert.Equal(new Lsn(5), await Writer.GetResolvedThroughAsync(Ct));
    }

    /// <summary>Issue 19 items 4 and 5 on a real server: a collection validator refusing a document, and a document written
    /// by another program, each reject only their record.</summary>
    [Fact]
    public async Task A_validator_refusal_and_a_foreign_document_reject_only_their_record()
    {
        using var client = new MongoClient(fixture.RequireServer());
        var database = client.GetDatabase(_database);
        await database.CreateCollectionAsync("Guarded", new CreateCollectionOptions<BsonDocument>
        {
            Validator = new BsonDocument("doc.n", new BsonDocument("$gte", 0)),
        }, Ct);
        await database.GetCollection<BsonDocument>(DefaultType).InsertOneAsync(new BsonDocument { { "_id", "foreign" }, { "name", "by hand" } }, cancellationToken: Ct);

        Assert.Null(await Writer.GetAsync(DefaultType, "foreign", Ct));
        var results = await Writer.ApplyAsync(
        [
            Create(1, "g", """{"n":-1}""", dtoType: "Guarded"),
            Update(2, "g", """{"n":1}""", dtoType: "Guarded"),
            Update(3, "foreign", """{"name":"mine"}"""),
            Create(4, "ok", """{"n":1}""", dtoType: "Guarded"),
        ], Ct);

        Assert.Equal([RejectReason.Unstorable, RejectReason.NotFound, RejectReason.Unstorable, RejectReason.None], results.Select(r => r.RejectReason));
        var foreign = await database.GetCollection<BsonDocument>(DefaultType).Find(new BsonDocument("_id", "foreign")).SingleAsync(Ct);
        Assert.Equal("by hand", foreign["name"].AsString);
    }

    /// <summary>Issue 19 item 6 on a real server: numbers come back in the canonical form, whatever BSON type holds them.</summary>
    [Fact]
    public async Task Numbers_come_back_in_canonical_form()
    {
        var payload = JsonNumbers.Normalize(Json("""{"a":1e5,"b":1.50,"c":-0.0,"d":1e21,"e":1e-7,"f":12345678901234567890,"g":3.141592653589793238462643383279502}"""));
        await Writer.ApplyAsync([Create(1, "n", payload.GetRawText())], Ct);

        var stored = await Writer.GetAsync(DefaultType, "n", Ct);

        Assert.Equal("""{"a":100000,"b":1.5,"c":0,"d":1e+21,"e":1e-7,"f":12345678901234567890,"g":3.141592653589793238462643383279502}""",
            stored!.Document.GetRawText());
    }

    /// <summary>Issue 19 item 8 on a real server: a write concern the one-node replica set cannot satisfy (w:2) times out
    /// after wtimeout (code 64): the batch is transient within the operation timeout, and a writer with the right write
    /// concern completes it from the stored outcomes.</summary>
    [Fact]
    public async Task A_write_concern_that_cannot_be_satisfied_times_out_as_transient()
    {
        await using var strict = new MongoDbWriter(new DbWriterOptions
        {
            MongoUri = fixture.RequireServer(),
            MongoDatabase = _database,
            MongoWriteConcern = "2",
            MongoOperationTimeout = TimeSpan.FromSeconds(1),
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var results = await strict.ApplyAsync([Create(1, "w", "{}")], Ct);

        Assert.Equal(ApplyStatus.Transient, results.Single().Status);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        Assert.Equal(ApplyStatus.Applied, (await Writer.ApplyAsync([Create(1, "w", "{}")], Ct)).Single().Status);
    }
}
