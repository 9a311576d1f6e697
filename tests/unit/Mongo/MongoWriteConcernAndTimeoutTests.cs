using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Mongo;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 item 8: w:majority on a replica set and through a mongos, a configurable write concern, and every
/// operation bounded, a timeout being a transient failure with the record safe.</summary>
public sealed class MongoWriteConcernAndTimeoutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string> Topologies() => new()
    {
        { """{ "ok": 1, "isWritablePrimary": true }""", "auto", "1" },
        { """{ "ok": 1, "isWritablePrimary": true, "setName": "rs0" }""", "auto", "majority" },
        { """{ "ok": 1, "isWritablePrimary": true, "msg": "isdbgrid" }""", "auto", "majority" },
        { """{ "ok": 1, "isWritablePrimary": true, "msg": "isdbgrid" }""", "2", "2" },
        { """{ "ok": 1, "isWritablePrimary": true }""", "majority", "majority" },
        { """{ "ok": 1, "isWritablePrimary": true, "setName": "rs0" }""", "dc-east", "dc-east" },
    };

    [Theory]
    [MemberData(nameof(Topologies))]
    public async Task Every_write_is_journaled_with_the_chosen_w_and_a_wtimeout(string hello, string configured, string w)
    {
        await using var mongo = new FakeMongoWriter(o => { o.MongoWriteConcern = configured; o.MongoOperationTimeout = TimeSpan.FromSeconds(7); });
        mongo.Server.Hello = BsonDocument.Parse(hello);

        await mongo.Writer.ApplyAsync([Create(1, "a"), Update(2, "a", """{"v":2}""")], Ct);

        var concern = mongo.Writer.WriteConcern;
        Assert.Equal(w, concern.W!.ToString());
        Assert.True(concern.Journal);
        Assert.Equal(TimeSpan.FromSeconds(7), concern.WTimeout);
        var writes = mongo.Server.Operations.Where(o => o.Kind is "insert" or "bulk" or "update" or "replace").ToList();
        Assert.NotEmpty(writes);
        Assert.All(writes, o => Assert.Equal(concern, o.WriteConcern));
    }

    [Fact]
    public void The_audit_sink_also_chooses_majority_through_a_mongos()
    {
        var timeout = TimeSpan.FromSeconds(30);
        Assert.Equal("majority", MongoAuditSink.WriteConcernFor(BsonDocument.Parse("""{ "msg": "isdbgrid" }"""), "auto", timeout).W!.ToString());
        Assert.Equal("majority", MongoAuditSink.WriteConcernFor(BsonDocument.Parse("""{ "setName": "rs0" }"""), null, timeout).W!.ToString());
        Assert.Equal("1", MongoAuditSink.WriteConcernFor(new BsonDocument("ok", 1), "auto", timeout).W!.ToString());
        var configured = MongoAuditSink.WriteConcernFor(new BsonDocument("ok", 1), "3", timeout);
        Assert.Equal("3", configured.W!.ToString());
        Assert.True(configured.Journal);
        Assert.Equal(timeout, configured.WTimeout);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("51")]
    [InlineData("w;drop")]
    public void An_unacknowledged_or_malformed_write_concern_fails_validation(string value)
    {
        var result = new DbWriterOptionsValidator().Validate(null, new DbWriterOptions { MongoUri = "mongodb://h/", MongoWriteConcern = value });
        Assert.True(result.Failed);
        Assert.Contains("MongoWriteConcern", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3600)]
    public void An_operation_timeout_out_of_range_fails_validation(int seconds)
    {
        var writer = new DbWriterOptionsValidator().Validate(null,
            new DbWriterOptions { MongoUri = "mongodb://h/", MongoOperationTimeout = TimeSpan.FromSeconds(seconds) });
        Assert.True(writer.Failed);
        Assert.Contains("MongoOperationTimeout", writer.FailureMessage, StringComparison.Ordinal);

        var audit = new Nv.Audit.AuditOptionsValidator().Validate(null,
            new Nv.Audit.AuditOptions { MongoUri = "mongodb://h/", MongoOperationTimeout = TimeSpan.FromSeconds(seconds) });
        Assert.True(audit.Failed);
        Assert.Contains("MongoOperationTimeout", audit.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("w;drop")]
    public void The_audit_store_refuses_an_unacknowledged_or_malformed_write_concern(string value)
    {
        var result = new Nv.Audit.AuditOptionsValidator().Validate(null, new Nv.Audit.AuditOptions { MongoUri = "mongodb://h/", MongoWriteConcern = value });
        Assert.True(result.Failed);
        Assert.Contains("MongoWriteConcern", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new Nv.Audit.AuditOptionsValidator().Validate(null, new Nv.Audit.AuditOptions { MongoUri = "mongodb://h/", MongoWriteConcern = "majority" }).Succeeded);
    }

    [Fact]
    public void Every_operation_is_bounded_by_the_client_settings()
    {
        var writer = new MongoDbWriter(new DbWriterOptions
        {
            MongoUri = "mongodb://h:27017/?socketTimeoutMS=0",
            MongoConnectTimeout = TimeSpan.FromSeconds(4),
            MongoOperationTimeout = TimeSpan.FromSeconds(20),
        });
        var settings = writer.ClientSettings;
        Assert.Equal(TimeSpan.FromSeconds(4), settings.ServerSelectionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(4), settings.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), settings.WaitQueueTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.SocketTimeout);
    }

    [Fact]
    public async Task Every_read_carries_max_time_ms()
    {
        await using var mongo = new FakeMongoWriter(o => o.MongoOperationTimeout = TimeSpan.FromSeconds(9));
        await mongo.Writer.ApplyAsync([Create(1, "a"), Update(2, "a")], Ct);
        await mongo.Writer.GetAsync("Order", "a", Ct);
        await mongo.Writer.FindByRequestIdAsync("req-1", Ct);

        var finds = mongo.Server.Operations.Where(o => o.Kind == "find").ToList();
        Assert.NotEmpty(finds);
        Assert.All(finds, o => Assert.Equal(TimeSpan.FromSeconds(9), o.MaxTime));
    }

    /// <summary>A majority write that cannot complete in time: the entity write landed on the primary, the write concern
    /// timed out (code 64). The batch is transient, and the retry completes it exactly once with the original outcome.</summary>
    [Fact]
    public async Task A_write_concern_timeout_is_transient_and_the_record_is_safe()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a", """{"v":1}""")], Ct);
        var failOnce = true;
        mongo.Server.After = op =>
        {
            if (op is { Kind: "bulk", Collection: "Order" } && failOnce)
            {
                failOnce = false;
                return FakeErrors.WriteConcernTimeout([]);
            }

            return null;
        };
        Nv.Wal.WalRecord[] batch = [Update(2, "a", """{"v":2}""")];

        var first = await mongo.Writer.ApplyAsync(batch, Ct);

        Assert.Equal(ApplyStatus.Transient, first.Single().Status);
        Assert.Null(await mongo.Writer.FindByRequestIdAsync("req-2", Ct));

        var retried = await mongo.Writer.ApplyAsync(batch, Ct);

        Assert.Equal(ApplyStatus.Applied, retried.Single().Status);
        Assert.Equal("""{"v":1}""", retried.Single().Before!.Value.GetRawText());
        Assert.Equal(new Nv.Wal.Lsn(2), (await mongo.Writer.GetAsync("Order", "a", Ct))!.Lsn);
    }

    public static TheoryData<string> Timeouts() => ["timeout", "max-time", "socket", "pool-paused", "wait-queue-full"];

    [Theory]
    [MemberData(nameof(Timeouts))]
    public async Task A_timed_out_or_refused_operation_is_transient_and_releases_the_writer(string kind)
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.InitializeAsync(Ct);
        Exception failure = kind switch
        {
            "timeout" => new TimeoutException("A timeout occurred after 30000ms selecting a server"),
            "max-time" => new MongoExecutionTimeoutException(FakeErrors.Connection, "operation exceeded time limit"),
            "socket" => new MongoConnectionException(FakeErrors.Connection, "socket timed out", new IOException("timed out")),
            "pool-paused" => new MongoConnectionPoolPausedException("The connection pool is in paused state"),
            _ => new MongoWaitQueueFullException("The wait queue for acquiring a connection is full"),
        };
        var fail = true;
        mongo.Server.Before = op => fail && op.Kind == "find" ? failure : null;

        var results = await mongo.Writer.ApplyAsync([Create(1, "a")], Ct);

        Assert.Equal(ApplyStatus.Transient, results.Single().Status);
        fail = false;
        Assert.Equal(ApplyStatus.Applied, (await mongo.Writer.ApplyAsync([Create(1, "a")], Ct)).Single().Status);
    }

    /// <summary>A read of the writer's own state (the watermark) waits for a batch that holds the writer at most twice the
    /// operation timeout, then fails as transient (HTTP 503) instead of hanging behind it. (Reads of the collections do not
    /// wait at all: <see cref="MongoReadsBesideBatchTests"/>.)</summary>
    [Fact]
    public async Task A_read_behind_a_stuck_batch_fails_as_transient_instead_of_hanging()
    {
        await using var mongo = new FakeMongoWriter(o => o.MongoOperationTimeout = TimeSpan.FromSeconds(1));
        await mongo.Writer.InitializeAsync(Ct);
        using var release = new ManualResetEventSlim();
        mongo.Server.Before = op =>
        {
            if (op is { Kind: "bulk", Collection: "Order" })
            {
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return null;
        };
        var stuck = Task.Run(() => mongo.Writer.ApplyAsync([Create(1, "a")], Ct), Ct);
        while (!mongo.Server.Operations.Any(o => o is { Kind: "bulk", Collection: "Order" }))
        {
            await Task.Delay(10, Ct);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<DbWriterException>(() => mongo.Writer.GetResolvedThroughAsync(Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));

        Assert.True(ex.IsTransient);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
        release.Set();
        Assert.Equal(ApplyStatus.Applied, (await stuck).Single().Status);
    }
}
