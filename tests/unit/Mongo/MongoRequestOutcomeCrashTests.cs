using Nv.DbWriter;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Wal;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>A request's outcome survives a crash at every step of the three-step write: whatever the boot replay does not
/// re-apply (it resumes after the store's resolved-through) already has its outcome stored, so a retry of the request
/// after the restart is answered from it instead of being appended and applied a second time (the issue-11 lost update).</summary>
public sealed class MongoRequestOutcomeCrashTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static RequestKey Key(long lsn) => new("", "req-" + lsn);

    [Theory]
    [InlineData("entity-writes")]
    [InlineData("record-requests")]
    [InlineData("clear-pending")]
    public async Task An_applied_requests_outcome_survives_a_crash_at_each_step(string step)
    {
        await using var mongo = new FakeMongoWriter();
        WalRecord[] wal = [Create(1, "a"), Create(2, "b")];
        mongo.Writer.FailBefore = s => s == step;
        Assert.All(await mongo.Writer.ApplyAsync(wal, Ct), r => Assert.Equal(ApplyStatus.Transient, r.Status)); // the process dies here

        await using var restarted = mongo.Reopen();
        await BootReplayAsync(restarted, wal);

        var outcomes = await restarted.FindRequestsAsync([Key(1), Key(2)], Ct);
        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied], new[] { Key(1), Key(2) }.Select(k => outcomes.GetValueOrDefault(k)?.Status));
    }

    [Theory]
    [InlineData("entity-writes")]
    [InlineData("record-requests")]
    [InlineData("clear-pending")]
    public async Task A_rejected_requests_outcome_survives_a_crash_before_its_batch_completes(string step)
    {
        await using var mongo = new FakeMongoWriter();
        WalRecord[] wal = [Update(1, "missing"), Create(2, "b")];
        mongo.Writer.FailBefore = s => s == step;
        await mongo.Writer.ApplyAsync(wal, Ct); // the process dies here

        await using var restarted = mongo.Reopen();
        await BootReplayAsync(restarted, wal);

        // The rejection was final at the first step, so the boot moved past it without replaying it.
        var outcomes = await restarted.FindRequestsAsync([Key(1), Key(2)], Ct);
        Assert.Equal(ApplyStatus.Rejected, outcomes.GetValueOrDefault(Key(1))?.Status);
        Assert.Equal(RejectReason.NotFound, outcomes[Key(1)].RejectReason);
        Assert.Equal(ApplyStatus.Applied, outcomes.GetValueOrDefault(Key(2))?.Status);
    }

    [Fact]
    public async Task An_erasures_request_outcome_is_stored_before_its_resolution()
    {
        await using var mongo = new FakeMongoWriter();
        WalRecord[] wal = [Create(1, "a"), MongoCommandsTests.Record(2, WalOperation.Erase, entityId: "a") with { Subject = "alice" }];
        await mongo.Writer.ApplyAsync([wal[0]], Ct);
        mongo.Writer.FailBefore = s => s == "erase-resolved";
        Assert.Equal(ApplyStatus.Transient, (await mongo.Writer.ApplyAsync([wal[1]], Ct)).Single().Status); // the process dies here

        await using var restarted = mongo.Reopen();
        await BootReplayAsync(restarted, wal);

        Assert.Equal(ApplyStatus.Applied, (await restarted.FindRequestsAsync([Key(2)], Ct)).GetValueOrDefault(Key(2))?.Status);
    }

    // What the boot replayer does: re-apply every WAL record after the store's own resolved-through.
    private static async Task BootReplayAsync(Nv.DbWriter.Mongo.MongoDbWriter writer, WalRecord[] wal)
    {
        var start = await writer.GetResolvedThroughAsync(Ct);
        WalRecord[] rest = [.. wal.Where(r => r.Lsn > start)];
        if (rest.Length > 0)
        {
            Assert.All(await writer.ApplyAsync(rest, Ct), r => Assert.NotEqual(ApplyStatus.Transient, r.Status));
        }
    }
}
