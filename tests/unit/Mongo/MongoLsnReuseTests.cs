using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Host.Pipeline;
using Nv.Host.Replay;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>LSNs are never issued twice over what MongoDB holds: boot compares the WAL with the highest LSN the store
/// holds (pending and unrecorded outcomes, erasures in progress), not only its visible watermark, and an erasure or a
/// batch record at an LSN whose stored outcome belongs to another WAL record stops instead of answering with it.</summary>
public sealed class MongoLsnReuseTests
{
    private const string ReplicaSet = """{ "ok": 1, "isWritablePrimary": true, "setName": "rs0" }""";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static BootReplayer Replayer(InMemoryWal wal, MongoDbWriter writer, bool acceptStoreAhead) =>
        new(wal, writer, new AuditCoordinator(wal, writer, new InMemoryAuditSink(), new FakeLogger<AuditCoordinator>()),
            Options.Create(new PipelineOptions
            {
                Environment = "test",
                Service = "svc",
                AcceptStoreAheadOfWal = acceptStoreAhead,
                InitialRetryDelay = TimeSpan.FromMilliseconds(10),
                MaxRetryDelay = TimeSpan.FromMilliseconds(50),
            }),
            new FakeLogger<BootReplayer>());

    private static async Task<InMemoryWal> WalOfAsync(params WalRecord[] records)
    {
        var wal = new InMemoryWal();
        foreach (var record in records)
        {
            await wal.FlushAsync((await wal.AppendAsync(record, Ct)).Lsn, Ct);
        }

        return wal;
    }

    private static WalRecord Erase(long lsn, string entityId) =>
        MongoCommandsTests.Record(lsn, WalOperation.Erase, entityId: entityId) with { Payload = default, Subject = "Order/" + entityId };

    private static WalRecord Batch(long lsn, params string[] entityIds) => new()
    {
        Id = Guid.CreateVersion7(),
        Lsn = new Lsn(lsn),
        Service = "tests",
        Version = 0,
        Timestamp = DateTimeOffset.UnixEpoch,
        Operation = WalOperation.Batch,
        DtoType = "",
        EntityId = "",
        Payload = default,
        ReplayKey = "",
        RequestId = "batch-" + lsn,
        Items = [.. entityIds.Select(id => new WalBatchItem
        {
            Id = Guid.CreateVersion7(), Operation = WalOperation.Create, Version = 1, DtoType = "Order", EntityId = id,
            Payload = JsonDocument.Parse("""{"n":1}""").RootElement.Clone(), ReplayKey = "test:tests:1:Order:" + id,
        })],
    };

    [Fact]
    public async Task A_pending_outcome_past_the_end_of_the_wal_refuses_the_boot_and_an_accepted_loss_continues_above_it()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b")], Ct);
        mongo.Writer.FailBefore = step => step == "entity-writes";
        Assert.Equal(ApplyStatus.Transient, (await mongo.Writer.ApplyAsync([Create(3, "c")], Ct))[0].Status); // LSN 3: pending
        Assert.Equal(new Lsn(2), await mongo.Writer.GetResolvedThroughAsync(Ct));

        // The WAL was lost past LSN 2 (restored from an older copy): LSN 3 would be issued again, over that pending outcome.
        var wal = await WalOfAsync(Create(1, "a"), Create(2, "b"));
        await using (var reopened = mongo.Reopen())
        {
            Assert.Equal(new Lsn(3), await reopened.GetHighestLsnHeldAsync(Ct));
            var refused = await Assert.ThrowsAsync<StoreWalMismatchException>(() =>
                Replayer(wal, reopened, acceptStoreAhead: false).RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct));
            Assert.True(refused.StoreAhead);
            Assert.Equal(new Lsn(3), refused.StoreLsn);
        }

        await using (var reopened = mongo.Reopen())
        {
            await Replayer(wal, reopened, acceptStoreAhead: true).RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
            Assert.Equal(new Lsn(3), wal.LastLsn);
            Assert.Equal(new Lsn(4), (await wal.AppendAsync(Create(9, "d"), Ct)).Lsn);
        }
    }

    [Fact]
    public async Task An_erasure_in_progress_counts_as_held()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a")], Ct);
        mongo.Server.Put(DatabaseName, MongoKeys.ErasuresCollection, new BsonDocument
        {
            { "_id", 2L }, { "subject", "Order/a" }, { "walId", MongoCommands.FormatId(Guid.CreateVersion7()) },
        });

        await using var reopened = mongo.Reopen();
        Assert.Equal(new Lsn(1), await reopened.GetResolvedThroughAsync(Ct));
        Assert.Equal(new Lsn(2), await reopened.GetHighestLsnHeldAsync(Ct));

        // Another record's erasure was begun at LSN 2: this one is not it.
        var error = await Assert.ThrowsAsync<DbWriterException>(() => reopened.ApplyAsync([Erase(2, "a")], Ct));
        Assert.Contains("issued twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_erasure_at_an_lsn_whose_stored_outcome_belongs_to_another_record_is_an_error_not_erased()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b")], Ct);

        var error = await Assert.ThrowsAsync<DbWriterException>(() => mongo.Writer.ApplyAsync([Erase(2, "a") with { Id = Guid.CreateVersion7() }], Ct));

        Assert.False(error.IsTransient);
        Assert.Contains("issued twice", error.Message, StringComparison.Ordinal);
        Assert.NotNull(await mongo.Writer.GetAsync("Order", "a", Ct)); // nothing erased

        // The erasure replayed at its own LSN is still answered from its stored outcome.
        Assert.Equal(ApplyStatus.Applied, (await mongo.Writer.ApplyAsync([Erase(3, "a")], Ct))[0].Status);
        Assert.Equal(ApplyStatus.AlreadyApplied, (await mongo.Writer.ApplyAsync([Erase(3, "a")], Ct))[0].Status);
    }

    [Fact]
    public async Task A_batch_at_an_lsn_whose_stored_outcome_belongs_to_another_record_is_an_error_not_a_stored_outcome()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.Hello = BsonDocument.Parse(ReplicaSet);
        await mongo.Writer.ApplyAsync([Create(5, "o1")], Ct);

        var error = await Assert.ThrowsAsync<DbWriterException>(() => mongo.Writer.ApplyAsync([Batch(5, "o2", "o3")], Ct));

        Assert.False(error.IsTransient);
        Assert.Contains("issued twice", error.Message, StringComparison.Ordinal);
        Assert.Null(await mongo.Writer.GetAsync("Order", "o2", Ct));

        // A batch replayed at its own LSN still gets its stored outcome.
        var batch = Batch(6, "o4", "o5");
        Assert.Equal(ApplyStatus.Applied, (await mongo.Writer.ApplyAsync([batch], Ct))[0].Status);
        Assert.Equal(ApplyStatus.AlreadyApplied, (await mongo.Writer.ApplyAsync([batch], Ct))[0].Status);
        Assert.NotNull(await mongo.Writer.GetAsync("Order", "o5", Ct));
    }
}
