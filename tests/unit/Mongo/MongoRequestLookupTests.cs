using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>The commit stage's request lookup on MongoDB: it does not wait behind a batch the applier holds the writer's
/// gate for, it does not read the store for request ids the writer's filter proves new, and a store outage refuses only
/// the writes whose request id the store may hold (the new ones reach the WAL: 503 with the LSN, as DESIGN says).</summary>
public sealed class MongoRequestLookupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WriteRequest Request(string requestId, string entityId) => new()
    {
        RequestId = requestId,
        Operation = WalOperation.Create,
        DtoType = "Order",
        EntityId = entityId,
        Payload = JsonDocument.Parse("""{"n":1}""").RootElement.Clone(),
        UserId = "u1",
    };

    /// <summary>A started pipeline over a given WAL and MongoDB writer (so a second one can be opened on the same server).</summary>
    private sealed class Pipeline : IAsyncDisposable
    {
        private readonly AuditCoordinator _coordinator;

        public Pipeline(InMemoryWal wal, MongoDbWriter writer)
        {
            var options = Options.Create(new PipelineOptions
            {
                Environment = "test",
                Service = "svc",
                InitialRetryDelay = TimeSpan.FromMilliseconds(10),
                MaxRetryDelay = TimeSpan.FromMilliseconds(50),
                AuditBackfillInterval = TimeSpan.FromHours(1),
            });
            _coordinator = new AuditCoordinator(wal, writer, new InMemoryAuditSink(), new FakeLogger<AuditCoordinator>());
            Writes = new WritePipeline(wal, writer, _coordinator, options, new FakeLogger<WritePipeline>());
            Writes.Start();
        }

        public WritePipeline Writes { get; }

        public async ValueTask DisposeAsync()
        {
            await Writes.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            _coordinator.Dispose();
        }
    }

    private static async Task FilterBuiltAsync(MongoDbWriter writer)
    {
        await writer.InitializeAsync(Ct);
        await writer.RequestIdFilter!.Build.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(writer.RequestIdFilter.IsReady);
    }

    [Fact]
    public async Task A_lookup_does_not_wait_for_a_batch_the_applier_holds()
    {
        await using var mongo = new FakeMongoWriter(o => o.MongoOperationTimeout = TimeSpan.FromSeconds(30));
        await mongo.Writer.ApplyAsync([Create(1, "a")], Ct);
        await FilterBuiltAsync(mongo.Writer);

        // The next batch stops inside its entity writes (a slow server): the applier holds the writer's gate meanwhile.
        using var inWrites = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        mongo.Server.Before = op =>
        {
            if (op is { Kind: "bulk", Collection: "Order" })
            {
                inWrites.Release();
                release.Wait(TimeSpan.FromSeconds(60));
            }

            return null;
        };
        var apply = Task.Run(() => mongo.Writer.ApplyAsync([Create(2, "b")], Ct), Ct);
        Assert.True(await inWrites.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        try
        {
            // req-1 is stored (the filter says "maybe": the store is read), req-9 is not: both answered while the batch waits.
            var found = await mongo.Writer.FindRequestsAsync([new RequestKey("", "req-1"), new RequestKey("", "req-9")], Ct)
                .WaitAsync(TimeSpan.FromSeconds(5), Ct);
            Assert.Equal(new Lsn(1), Assert.Single(found).Value.Lsn);
        }
        finally
        {
            release.Release();
        }

        Assert.All(await apply, r => Assert.Equal(ApplyStatus.Applied, r.Status));
    }

    [Fact]
    public async Task A_request_id_the_filter_proves_new_is_not_read_from_the_store()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a")], Ct);
        await FilterBuiltAsync(mongo.Writer);
        Assert.True(mongo.Writer.MightHoldRequest(new RequestKey("", "req-1")));
        Assert.False(mongo.Writer.MightHoldRequest(new RequestKey("", "never-stored")));

        mongo.Server.ClearOperations();
        Assert.Empty(await mongo.Writer.FindRequestsAsync([new RequestKey("", "never-stored")], Ct));
        Assert.DoesNotContain(mongo.Server.Operations, o => o.Collection == MongoRequests.Collection);

        // An id stored after the build is added by the writer itself, before its outcome is written.
        await mongo.Writer.ApplyAsync([Create(2, "b")], Ct);
        Assert.True(mongo.Writer.MightHoldRequest(new RequestKey("", "req-2")));
        Assert.Equal(new Lsn(2), (await mongo.Writer.FindRequestsAsync([new RequestKey("", "req-2")], Ct)).Single().Value.Lsn);
    }

    [Fact]
    public async Task With_mongodb_down_a_write_with_a_new_request_id_is_durable_in_the_wal_and_answered_pending_with_its_lsn()
    {
        var wal = new InMemoryWal();
        await using var mongo = new FakeMongoWriter();
        await using (var first = new Pipeline(wal, mongo.Writer))
        {
            Assert.Equal(WriteStatus.Applied, (await first.Writes.WriteAsync(Request("r1", "e1"), Ct)).Status);
            await FilterBuiltAsync(mongo.Writer);

            var down = true;
            mongo.Server.Before = _ => down ? FakeErrors.ConnectionLost() : null;
            var outcome = await first.Writes.WriteAsync(Request("r2", "e2"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

            Assert.Equal(WriteStatus.Pending, outcome.Status);
            Assert.Equal(new Lsn(2), outcome.Lsn);
            Assert.Equal("r2", wal.Records[^1].RequestId);
            down = false;
        }
    }

    [Fact]
    public async Task While_the_lookup_fails_only_a_write_whose_request_id_the_store_may_hold_is_refused()
    {
        var wal = new InMemoryWal();
        await using var mongo = new FakeMongoWriter();
        await using (var first = new Pipeline(wal, mongo.Writer))
        {
            Assert.Equal(WriteStatus.Applied, (await first.Writes.WriteAsync(Request("r1", "e1"), Ct)).Status);
        }

        // A restarted host: its pipeline remembers no request id, the store remembers r1.
        await using var reopened = mongo.Reopen();
        await FilterBuiltAsync(reopened);
        await using var second = new Pipeline(wal, reopened);
        mongo.Server.Before = op => op is { Kind: "find", Collection: MongoRequests.Collection } ? FakeErrors.ConnectionLost() : null;

        var retry = await Assert.ThrowsAsync<DbWriterException>(() => second.Writes.WriteAsync(Request("r1", "e1"), Ct));
        Assert.True(retry.IsTransient);
        Assert.Single(wal.Records); // not appended a second time

        var fresh = await second.Writes.WriteAsync(Request("r3", "e3"), Ct);
        Assert.Equal(WriteStatus.Applied, fresh.Status);
        Assert.Equal("r3", wal.Records[^1].RequestId);
    }
}
