using MongoDB.Bson;
using Nv.DbWriter;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Wal;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>The watermark passes the WAL's holes (LSNs a recovery skipped, or an accepted loss continued above): without
/// it MongoDB's watermark, the end of a contiguous run of resolutions, stopped at the hole for good, and with it the WAL's
/// truncation, every purge, and each boot's replay start.</summary>
public sealed class MongoWatermarkJumpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_watermark_passes_lsns_a_batch_skips_between_calls_and_inside_a_call()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b")], Ct);

        await mongo.Writer.ApplyAsync([Create(5, "c")], Ct); // 3 and 4 were skipped by the WAL's recovery
        Assert.Equal(new Lsn(5), await mongo.Writer.GetResolvedThroughAsync(Ct));

        await mongo.Writer.ApplyAsync([Create(6, "d"), Create(9, "e")], Ct);
        Assert.Equal(new Lsn(9), await mongo.Writer.GetResolvedThroughAsync(Ct));

        // Stored, not only in memory: a restart reads it.
        await using var reopened = mongo.Reopen();
        Assert.Equal(new Lsn(9), await reopened.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task A_pending_outcome_lost_with_the_wal_does_not_hold_the_watermark_once_the_loss_is_accepted()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a"), Create(2, "b")], Ct);
        mongo.Writer.FailBefore = step => step == "entity-writes";
        Assert.Equal(ApplyStatus.Transient, (await mongo.Writer.ApplyAsync([Create(3, "c")], Ct))[0].Status); // LSN 3: pending

        // The WAL lost LSN 3 and the operator accepted it: the WAL continues at 4.
        await using var reopened = mongo.Reopen();
        Assert.Equal(new Lsn(2), await reopened.GetResolvedThroughAsync(Ct));
        Assert.Equal(ApplyStatus.Applied, (await reopened.ApplyAsync([Create(4, "d")], Ct))[0].Status);

        Assert.Equal(new Lsn(4), await reopened.GetResolvedThroughAsync(Ct));
        await reopened.PurgeAsync(new Lsn(4), Ct); // the lost outcome goes with the resolutions below the watermark
        Assert.DoesNotContain(mongo.Server.Documents(DatabaseName, "_nv_resolutions"), d => d["_id"].ToInt64() <= 4);
    }

    [Fact]
    public async Task A_retried_batch_teaches_no_hole_and_a_transient_one_moves_nothing()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a")], Ct);
        mongo.Writer.FailBefore = step => step == "entity-writes";
        Assert.Equal(ApplyStatus.Transient, (await mongo.Writer.ApplyAsync([Create(2, "b"), Create(3, "c")], Ct))[0].Status);
        Assert.Equal(new Lsn(1), await mongo.Writer.GetResolvedThroughAsync(Ct));

        mongo.Writer.FailBefore = null;
        Assert.All(await mongo.Writer.ApplyAsync([Create(2, "b"), Create(3, "c")], Ct), r => Assert.Equal(ApplyStatus.Applied, r.Status));
        Assert.Equal(new Lsn(3), await mongo.Writer.GetResolvedThroughAsync(Ct));
    }
}
