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

    /// <summary>An audit event's outcome is final at once: it stays invisible until its request's outcome is stored.</summary>
    [Theory]
    [InlineData("entity-writes")]
    [InlineData("record-requests")]
    [InlineData("clear-pending")]
    public async Task An_audit_events_request_outcome_survives_a_crash_before_its_batch_completes(string step)
    {
        await using var mongo = new FakeMongoWriter();
        WalRecord[] wal = [MongoCommandsTests.Record(1, WalOperation.AuditEvent), Create(2, "b")];
        mongo.Writer.FailBefore = s => s == step;
        await mongo.Writer.ApplyAsync(wal, Ct); // the process dies here

        await using var restarted = mongo.Reopen();
        await BootReplayAsync(restarted, wal);

        var outcomes = await restarted.FindRequestsAsync([Key(1), Key(2)], Ct);
        Assert.Equal(ApplyStatus.Applied, outcomes.GetValueOrDefault(Key(1))?.Status);
        Assert.Equal(ApplyStatus.Applied, outcomes.GetValueOrDefault(Key(2))?.Status);
    }

    /// <summary>A resolution the server refuses rejects its own record, also behind an audit event (whose outcome was once
    /// missing from the list that maps an insert's failed index back to its record).</summary>
    [Fact]
    public async Task A_refused_resolution_behind_an_audit_event_rejects_its_own_record()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.RefuseDocument = (collection, document) =>
            collection == "_nv_resolutions" && document["_id"] == 2 && document.Contains("pending") ? (10334, "BSONObj size is invalid (fake)") : null;

        var results = await mongo.Writer.ApplyAsync([MongoCommandsTests.Record(1, WalOperation.AuditEvent), Create(2, "a"), Create(3, "b")], Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.Equal(RejectReason.Unstorable, results[1].RejectReason);
        Assert.NotNull(await mongo.Writer.GetAsync("Order", "b", Ct));
    }

    /// <summary>A record the server refuses at the entity write is rejected for good; its outcome reaches the idempotency
    /// collection even when the process dies before the rest of the batch completes.</summary>
    [Fact]
    public async Task A_rejection_found_at_the_entity_write_keeps_its_request_outcome_across_a_crash()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.RefuseDocument = (collection, document) => collection == "Order" && document["_id"] == "a" ? (121, "Document failed validation") : null;
        var down = true;
        mongo.Server.Before = op => down && op.Collection == "_nv_requests" && op.Kind == "bulk" ? FakeErrors.ConnectionLost() : null;
        WalRecord[] wal = [Create(1, "a")];
        Assert.Equal(ApplyStatus.Transient, (await mongo.Writer.ApplyAsync(wal, Ct)).Single().Status); // the process dies here
        down = false;

        await using var restarted = mongo.Reopen();
        await BootReplayAsync(restarted, wal);

        var outcome = (await restarted.FindRequestsAsync([Key(1)], Ct)).GetValueOrDefault(Key(1));
        Assert.Equal((ApplyStatus.Rejected, RejectReason.Unstorable), (outcome?.Status, outcome?.RejectReason));
    }

    /// <summary>An outcome decided on the assumption that an earlier record of the batch is written is decided again when
    /// that write is refused: the create after a refused create of the same entity is applied, not "already exists".</summary>
    [Fact]
    public async Task Outcomes_decided_after_a_refused_write_are_decided_again()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.RefuseDocument = (collection, document) =>
            collection == "Order" && document["doc"].AsBsonDocument.GetValue("v", 0) == 1 ? (121, "Document failed validation") : null;

        var results = await mongo.Writer.ApplyAsync([Create(1, "v", """{"v":1}"""), Create(2, "v", """{"v":2}""")], Ct);

        Assert.Equal([ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.Equal(new Lsn(2), (await mongo.Writer.GetAsync("Order", "v", Ct))!.Lsn);
        Assert.Equal(new Lsn(2), await mongo.Writer.GetResolvedThroughAsync(Ct));
    }

    /// <summary>A redo that finds its expected version never came to be (the record before it was refused) also drops the
    /// outcomes decided on it: the create after them is applied, not "already exists".</summary>
    [Fact]
    public async Task Outcomes_decided_on_a_redo_that_cannot_happen_are_decided_again()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.RefuseDocument = RefuseVersion1;

        var results = await mongo.Writer.ApplyAsync([Create(1, "v", """{"v":1}"""), Update(2, "v", """{"v":2}"""), Create(3, "v", """{"v":3}""")], Ct);

        Assert.Equal([ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.Equal(new Lsn(3), (await mongo.Writer.GetAsync("Order", "v", Ct))?.Lsn);
    }

    /// <summary>After a restart the boot replay may apply in smaller chunks than the attempt that died: an outcome it left
    /// after a record that is now refused is decided again although it is outside the chunk being applied.</summary>
    [Fact]
    public async Task Outcomes_left_by_a_larger_attempt_are_decided_again_when_a_record_before_them_is_refused()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.RefuseDocument = RefuseVersion1;
        WalRecord[] wal = [Create(1, "v", """{"v":1}"""), Create(2, "v", """{"v":2}""")];
        mongo.Writer.FailBefore = s => s == "entity-writes";
        await mongo.Writer.ApplyAsync(wal, Ct); // the process dies here

        await using var restarted = mongo.Reopen();
        var first = await restarted.ApplyAsync([wal[0]], Ct); // replay chunks of one record
        var second = await restarted.ApplyAsync([wal[1]], Ct);

        Assert.Equal((ApplyStatus.Rejected, ApplyStatus.Applied), (first[0].Status, second[0].Status));
    }

    [Fact]
    public async Task A_batch_of_rejections_only_stays_hidden_until_its_requests_outcomes_are_stored()
    {
        await using var mongo = new FakeMongoWriter();
        WalRecord[] wal = [Update(1, "missing"), Delete(2, "gone")];
        mongo.Writer.FailBefore = s => s == "clear-pending";
        await mongo.Writer.ApplyAsync(wal, Ct); // the process dies here
        Assert.Empty(await mongo.Writer.GetResolutionsAsync(Lsn.None, 10, Ct));

        await using var restarted = mongo.Reopen();
        Assert.Equal(Lsn.None, await restarted.GetResolvedThroughAsync(Ct));
        await BootReplayAsync(restarted, wal);

        Assert.Equal(new Lsn(2), await restarted.GetResolvedThroughAsync(Ct));
        Assert.Equal(2, (await restarted.FindRequestsAsync([Key(1), Key(2)], Ct)).Count);
    }

    /// <summary>Outcomes stored unrecorded by a failed attempt, mixed with new ones in the retry (in process and after a
    /// restart): kept, recorded, shown; nothing stays hidden.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stored_unrecorded_outcomes_and_new_ones_complete_together(bool restart)
    {
        await using var mongo = new FakeMongoWriter();
        WalRecord[] wal = [MongoCommandsTests.Record(1, WalOperation.AuditEvent), Update(2, "missing"), Create(3, "b"), Create(4, "c")];
        mongo.Writer.FailBefore = s => s == "record-requests";
        await mongo.Writer.ApplyAsync(wal[..3], Ct);
        mongo.Writer.FailBefore = null;

        await using var writer = restart ? mongo.Reopen() : null;
        var results = await (writer ?? mongo.Writer).ApplyAsync(wal, Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Rejected, ApplyStatus.Applied, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.Equal(new Lsn(4), await (writer ?? mongo.Writer).GetResolvedThroughAsync(Ct));
        Assert.Equal(4, (await (writer ?? mongo.Writer).FindRequestsAsync([Key(1), Key(2), Key(3), Key(4)], Ct)).Count);
        Assert.DoesNotContain(mongo.Stored("_nv_resolutions"), d => d.Contains("unrecorded") || d.Contains("pending"));
    }

    private static (int, string)? RefuseVersion1(string collection, MongoDB.Bson.BsonDocument document) =>
        collection == "Order" && document.GetValue("doc", MongoDB.Bson.BsonNull.Value) is MongoDB.Bson.BsonDocument d && d.GetValue("v", 0) == 1
            ? (121, "Document failed validation") : null;

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
