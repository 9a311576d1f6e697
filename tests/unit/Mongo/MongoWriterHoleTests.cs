using MongoDB.Bson;
using MongoDB.Driver;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 item 9: connecting inside the batch's failure policy, a retry that reports Applied for a write it
/// applied, and the schema version check.</summary>
public sealed class MongoWriterHoleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Fails without the WAL id check in DecideAsync: the stored outcome of another record was answered.</summary>
    [Fact]
    public async Task An_lsn_whose_stored_outcome_belongs_to_another_record_is_an_error_not_a_stored_outcome()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(5, "o1", """{"a":1}""")], Ct);

        // The same LSN issued again to a different record (a WAL that restarted below what this database holds).
        var reused = Create(5, "o2", """{"b":2}""") with { Id = Guid.CreateVersion7() };
        var error = await Assert.ThrowsAsync<DbWriterException>(() => mongo.Writer.ApplyAsync([reused], Ct));

        Assert.False(error.IsTransient);
        Assert.Contains("issued twice", error.Message, StringComparison.Ordinal);
        Assert.Null(await mongo.Writer.GetAsync("Order", "o2", Ct));
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_makes_the_batch_transient_instead_of_throwing()
    {
        await using var mongo = new FakeMongoWriter();
        var down = true;
        mongo.Server.Before = op => down && op.Kind.StartsWith("command:", StringComparison.Ordinal) ? FakeErrors.ConnectionLost() : null;

        var results = await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b")], Ct);

        Assert.All(results, r => Assert.Equal(ApplyStatus.Transient, r.Status));
        Assert.All(results, r => Assert.Contains("could not be reached", r.Error, StringComparison.Ordinal));
        down = false;
        Assert.All(await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b")], Ct), r => Assert.Equal(ApplyStatus.Applied, r.Status));
    }

    /// <summary>The real driver against a port where nothing listens: the batch is transient within the connect timeout.</summary>
    [Fact]
    public async Task An_unreachable_server_makes_the_batch_transient_with_the_real_driver()
    {
        await using var writer = new MongoDbWriter(new DbWriterOptions
        {
            MongoUri = "mongodb://127.0.0.1:1/?directConnection=true",
            MongoConnectTimeout = TimeSpan.FromSeconds(1),
        });

        var results = await writer.ApplyAsync([Create(1, "a")], Ct);

        Assert.Equal(ApplyStatus.Transient, results.Single().Status);
    }

    /// <summary>The pending flags were cleared on the server but the acknowledgement was lost: the retry finds final
    /// Applied outcomes it stored itself and reports them Applied (with their before images), not AlreadyApplied.</summary>
    [Fact]
    public async Task A_retry_after_a_lost_acknowledgement_of_the_last_step_reports_applied()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a", """{"v":1}""")], Ct);
        var lose = true;
        mongo.Server.After = op =>
        {
            if (lose && op.Collection == "_nv_resolutions" && op.Kind is "bulk" or "updateMany")
            {
                lose = false;
                return FakeErrors.ConnectionLost();
            }

            return null;
        };
        Nv.Wal.WalRecord[] batch = [Update(2, "a", """{"v":2}"""), Create(3, "b")];

        var first = await mongo.Writer.ApplyAsync(batch, Ct);
        Assert.All(first, r => Assert.Equal(ApplyStatus.Transient, r.Status));

        var retried = await mongo.Writer.ApplyAsync(batch, Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied], retried.Select(r => r.Status));
        Assert.Equal("""{"v":1}""", retried[0].Before!.Value.GetRawText());

        // A later replay of the same records is a replay.
        Assert.All(await mongo.Writer.ApplyAsync(batch, Ct), r => Assert.Equal(ApplyStatus.AlreadyApplied, r.Status));
    }

    [Fact]
    public async Task Pending_flags_are_cleared_with_retryable_single_document_writes()
    {
        await using var mongo = new FakeMongoWriter();

        await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b")], Ct);

        Assert.DoesNotContain(mongo.Server.Operations, o => o.Kind == "updateMany");
        Assert.All(mongo.Stored("_nv_resolutions"), d => Assert.False(d.Contains("pending")));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task An_older_database_is_upgraded_and_a_newer_one_refused(int version)
    {
        await using var old = new FakeMongoWriter();
        old.Server.Put(DatabaseName, "_nv_meta", new BsonDocument { { "_id", "schema_version" }, { "value", version } });
        old.Server.Put(DatabaseName, "_nv_resolutions", BsonDocument.Parse(
            """{ "_id": NumberLong(1), "walId": "0190b9d2-0000-7000-8000-000000000001", "requestId": "req-1", "status": 1, "rejectReason": 0, "before": null }"""));
        old.Server.Put(DatabaseName, "_nv_meta", new BsonDocument { { "_id", "resolved_through" }, { "value", 1L } });
        old.Server.Put(DatabaseName, "_nv_meta", new BsonDocument { { "_id", "requests_migrated" }, { "value", 1 } }); // not this test's subject

        await old.Writer.InitializeAsync(Ct);

        Assert.Equal(3, old.Stored("_nv_meta").Single(d => d["_id"] == "schema_version")["value"].ToInt32());
        Assert.Equal(new Nv.Wal.Lsn(1), await old.Writer.GetResolvedThroughAsync(Ct));
        Assert.Equal(ApplyStatus.Applied, (await old.Writer.FindByRequestIdAsync("req-1", Ct))!.Status);

        await using var newer = new FakeMongoWriter();
        newer.Server.Put(DatabaseName, "_nv_meta", new BsonDocument { { "_id", "schema_version" }, { "value", 4 } });
        var ex = await Assert.ThrowsAsync<DbWriterException>(() => newer.Writer.InitializeAsync(Ct));
        Assert.False(ex.IsTransient);
        Assert.Contains("schema version 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_resolution_of_schema_version_3_round_trips_and_a_damaged_one_is_refused()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Writer.FailBefore = step => step == "entity-writes";
        await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b", """{"n":123456789012345678901234567890123456}""")], Ct);

        var pending = mongo.Resolution(1)!;
        var rejected = mongo.Resolution(2)!;
        Assert.Equal(ApplyStatus.Applied, MongoDbWriter.ReadResolution(pending).Status);
        Assert.Equal(RejectReason.Unstorable, MongoDbWriter.ReadResolution(rejected).RejectReason);
        Assert.Contains("cannot be stored", rejected["error"].AsString, StringComparison.Ordinal);
        // Version 3: until the batch's request outcomes are stored, a final outcome is unrecorded and a write's pending.
        Assert.True(rejected[MongoCommands.Unrecorded].AsBoolean);
        Assert.False(pending.Contains(MongoCommands.Unrecorded));
        Assert.Null(await mongo.Writer.FindByRequestIdAsync("req-2", Ct)); // invisible

        var damaged = rejected.DeepClone().AsBsonDocument;
        damaged["walId"] = "not a guid";
        Assert.ThrowsAny<FormatException>(() => MongoDbWriter.ReadResolution(damaged));
    }
}
