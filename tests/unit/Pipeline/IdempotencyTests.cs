using System.Text.Json;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Request ids: scoped to the caller, fingerprinted, remembered until the database can answer for them.</summary>
public sealed class IdempotencyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WriteRequest Put(string requestId, string entityId, int balance, string user = "u1") => new()
    {
        RequestId = requestId,
        Operation = WalOperation.Update,
        DtoType = "Acct",
        EntityId = entityId,
        Payload = JsonSerializer.SerializeToElement(new { balance }),
        UserId = user,
    };

    private static WriteRequest Post(string requestId, string entityId, int balance, string user = "u1") =>
        Put(requestId, entityId, balance, user) with { Operation = WalOperation.Create };

    private static async Task<int> BalanceAsync(PipelineHarness h, string entityId) =>
        (await h.Db.GetAsync("Acct", entityId, Ct))!.Document.GetProperty("balance").GetInt32();

    [Theory]
    [InlineData(AckLevel.Durable)]
    [InlineData(AckLevel.Applied)]
    [InlineData(AckLevel.Audited)]
    public async Task A_settled_write_is_remembered_without_its_payload_and_still_answers_its_retries(AckLevel ack)
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var first = await h.Pipeline.WriteAsync(Post("k1", "a1", 100) with { Ack = ack }, Ct);
        Assert.True(h.Pipeline.TryGetRemembered(new RequestKey("u1", "k1"), out var remembered));

        // Once every stage is done with it (audited), the cache keeps a few hundred bytes, not the payloads.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (remembered.Request.Payload is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Ct);
        }

        Assert.Null(remembered.Request.Payload);
        Assert.Equal(JsonValueKind.Undefined, remembered.Record!.Payload.ValueKind);
        Assert.Equal((first.Lsn, first.RecordId ?? remembered.Record.Id), (remembered.Record.Lsn, remembered.Record.Id));
        Assert.Single(h.Audit.Entries, e => e.RequestId == "k1" && e.After is { } after && after.GetProperty("balance").GetInt32() == 100);

        var retry = await h.Pipeline.WriteAsync(Post("k1", "a1", 100), Ct);
        Assert.True(retry.IsReplay);
        Assert.Equal((WriteStatus.Applied, first.Lsn), (retry.Status, retry.Lsn));
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => h.Pipeline.WriteAsync(Post("k1", "a1", 99), Ct));
        Assert.Equal(WriteStatus.Applied, (await h.Pipeline.GetOutcomeAsync("k1", "u1", Ct))!.Status);
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task A_late_retry_after_the_cache_moved_on_and_the_resolutions_were_purged_replays_the_first_outcome()
    {
        // The lost update, without a restart: c1, p1, p2; the cache forgets p1; the WAL is truncated and the
        // resolutions purged; the retry of p1 must not put the balance back to 50.
        await using var h = new PipelineHarness(configure: o => o.RequestIdCacheSize = 4);
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(Post("c1", "a1", 100), Ct);
        var p1 = await h.Pipeline.WriteAsync(Put("p1", "a1", 50), Ct);
        await h.Pipeline.WriteAsync(Put("p2", "a1", 70), Ct);
        for (var i = 0; i < 20; i++)
        {
            await h.Pipeline.WriteAsync(Post("filler-" + i, "f" + i, i), Ct);
        }

        h.Db.PurgeAllResolutions();
        var records = h.Wal.Records.Count;
        var retry = await h.Pipeline.WriteAsync(Put("p1", "a1", 50), Ct);

        Assert.True(retry.IsReplay);
        Assert.Equal((WriteStatus.Applied, p1.Lsn), (retry.Status, retry.Lsn));
        Assert.Equal(records, h.Wal.Records.Count);
        Assert.Equal(70, await BalanceAsync(h, "a1"));
        Assert.Single(h.Audit.Entries, e => e.RequestId == "p1");
    }

    [Fact]
    public async Task A_durable_but_unapplied_write_is_never_appended_twice_when_the_cache_moves_on()
    {
        await using var h = new PipelineHarness(configure: o =>
        {
            o.RequestIdCacheSize = 2;
            o.MaxLagTime = TimeSpan.FromHours(1); // backpressure is not under test: the writes during the outage go through
        });
        h.Pipeline.Start();
        h.Db.Unavailable = true;
        WriteOutcome first;
        try
        {
            first = await h.Pipeline.WriteAsync(Post("r1", "a1", 1), Ct);
            Assert.Equal(WriteStatus.Pending, first.Status);
            for (var i = 2; i <= 6; i++)
            {
                Assert.Equal(WriteStatus.Pending, (await h.Pipeline.WriteAsync(Post("r" + i, "a" + i, i), Ct)).Status);
            }

            // The database knows nothing of r1 yet; the cache must still own it (answered at once, from memory).
            var retry = await h.Pipeline.WriteAsync(Post("r1", "a1", 1), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
            Assert.True(retry.IsReplay);
            Assert.Equal(first.Lsn, retry.Lsn);
            Assert.Equal(6, h.Wal.Records.Count);
            Assert.Single(h.Wal.Records, r => r.RequestId == "r1");
        }
        finally
        {
            h.Db.Unavailable = false; // else stopping the pipeline waits for an outage that never ends
        }

        await WritePipelineTests.WaitUntil(() => h.Coordinator.Audited == new Lsn(6)); // applied, then audited
        var late = await h.Pipeline.WriteAsync(Post("r1", "a1", 1), Ct);
        Assert.Equal((WriteStatus.Applied, first.Lsn, true), (late.Status, late.Lsn, late.IsReplay));
        Assert.Equal(6, h.Wal.Records.Count);
    }

    [Fact]
    public async Task The_same_request_id_on_a_different_request_is_refused_and_writes_nothing()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(Post("k", "a", 1), Ct);

        var otherEntity = await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => h.Pipeline.WriteAsync(Post("k", "b", 1), Ct));
        Assert.Contains("create Acct/a", otherEntity.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => h.Pipeline.WriteAsync(Post("k", "a", 2), Ct));
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => h.Pipeline.WriteAsync(Put("k", "a", 1), Ct));

        Assert.Single(h.Wal.Records);
        Assert.Null(await h.Db.GetAsync("Acct", "b", Ct));
        var retry = await h.Pipeline.WriteAsync(Post("k", "a", 1), Ct); // the first request itself is still a retry
        Assert.True(retry.IsReplay);
    }

    // The cache forgot k's first request; the first request's retry and a different request under k (an impostor) come
    // together, and whichever came first owns the id in the cache while the commit stage looks it up. A retry behind the
    // impostor used to be refused at once (422), by the impostor's fingerprint; it waits for the impostor to be decided
    // now, and gets its first outcome. Behind the retry, the impostor is refused once the retry is answered.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_late_retry_and_an_impostor_in_flight_together_get_the_first_outcome_and_a_refusal(bool impostorFirst)
    {
        await using var h = new PipelineHarness(configure: o => o.RequestIdCacheSize = 2);
        h.Pipeline.Start();
        var first = await h.Pipeline.WriteAsync(Post("k", "a", 1), Ct);
        for (var i = 0; i < 10; i++)
        {
            await h.Pipeline.WriteAsync(Post("filler-" + i, "f" + i, i) with { Ack = AckLevel.Audited }, Ct);
        }

        Assert.False(h.Pipeline.TryGetRemembered(new RequestKey("u1", "k"), out _), "the cache still remembers k");
        var records = h.Wal.Records.Count;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Db.LookupGate = gate.Task;
        Task<WriteOutcome> impostor = Task.FromResult<WriteOutcome>(null!), retry = impostor;
        try
        {
            if (impostorFirst)
            {
                impostor = h.Pipeline.WriteAsync(Post("k", "b", 9), Ct);
            }
            else
            {
                retry = h.Pipeline.WriteAsync(Post("k", "a", 1), Ct);
            }

            Assert.True(h.Pipeline.TryGetRemembered(new RequestKey("u1", "k"), out var owner) && owner.Request.EntityId == (impostorFirst ? "b" : "a"));
            if (impostorFirst)
            {
                retry = h.Pipeline.WriteAsync(Post("k", "a", 1), Ct);
                await Task.Delay(50, Ct);
                Assert.False(retry.IsCompleted, $"the retry was answered before the impostor was decided: {retry.Exception?.InnerException?.Message}");
            }
            else
            {
                impostor = h.Pipeline.WriteAsync(Post("k", "b", 9), Ct);
            }
        }
        finally
        {
            gate.SetResult(); // else stopping the pipeline waits for the lookup forever
        }

        var refused = await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => impostor);
        Assert.Contains("create Acct/a", refused.Message, StringComparison.Ordinal);
        var answer = await retry;
        Assert.Equal((WriteStatus.Applied, first.Lsn, true), (answer.Status, answer.Lsn, answer.IsReplay));
        Assert.Equal(records, h.Wal.Records.Count);
        Assert.Null(await h.Db.GetAsync("Acct", "b", Ct));
    }

    // A different request behind an owner that ends before the WAL for any other reason than the id being taken (here: the
    // commit stage's lookup fails) is refused as before: it never takes the id over (a batch behind it built its items as a
    // retry's, without its own preconditions). Behind an owner that reaches the WAL, the refusal comes once the owner is
    // appended, not when it is answered.
    [Fact]
    public async Task A_different_request_behind_an_owner_that_ends_for_another_reason_or_is_appended_is_refused_and_writes_nothing()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var lookup = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Db.LookupGate = lookup.Task;
        Task<WriteOutcome> owner, other;
        try
        {
            owner = h.Pipeline.WriteAsync(Post("k", "a", 1), Ct);
            other = h.Pipeline.WriteAsync(Post("k", "b", 9), Ct);
            await Task.Delay(50, Ct);
            h.Db.LookupFailure = new DbWriterException("connection reset", isTransient: true);
        }
        finally
        {
            lookup.SetResult();
        }

        await Assert.ThrowsAsync<DbWriterException>(() => owner);
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => other);
        h.Db.LookupFailure = null;
        h.Db.LookupGate = null;
        Assert.Empty(h.Wal.Records);

        var apply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Db.ApplyGate = apply.Task;
        try
        {
            var slow = h.Pipeline.WriteAsync(Post("j", "a", 1), Ct);
            await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => h.Pipeline.WriteAsync(Post("j", "b", 9), Ct).WaitAsync(TimeSpan.FromSeconds(2), Ct));
            Assert.False(slow.IsCompleted, "the owner was answered: the refusal did not come before its answer");
        }
        finally
        {
            apply.SetResult();
        }

        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task The_same_request_id_on_a_different_request_is_refused_after_a_restart_too()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        await using (var before = new PipelineHarness(wal, db))
        {
            before.Pipeline.Start();
            await before.Pipeline.WriteAsync(Post("k", "a", 1), Ct);
        }

        await using var after = new PipelineHarness(wal, db);
        after.Pipeline.Start();
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => after.Pipeline.WriteAsync(Post("k", "b", 1), Ct));
        Assert.Single(wal.Records);
        Assert.True((await after.Pipeline.WriteAsync(Post("k", "a", 1), Ct)).IsReplay);
    }

    [Fact]
    public async Task Request_ids_are_scoped_to_their_caller()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var alice = await h.Pipeline.WriteAsync(Post("same-id", "a", 1, user: "alice"), Ct);
        var bob = await h.Pipeline.WriteAsync(Post("same-id", "b", 2, user: "bob"), Ct);

        Assert.False(alice.IsReplay);
        Assert.False(bob.IsReplay);
        Assert.Equal(2, h.Wal.Records.Count);
        Assert.Equal(2, await BalanceAsync(h, "b"));
    }

    [Fact]
    public async Task A_retry_while_the_first_attempt_is_in_flight_waits_for_its_outcome()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Db.ApplyGate = gate.Task;
        var first = h.Pipeline.WriteAsync(Post("slow", "a", 1), Ct);
        await WritePipelineTests.WaitUntil(() => h.Wal.Records.Count == 1);
        var retry = h.Pipeline.WriteAsync(Post("slow", "a", 1), Ct);
        await Task.Delay(50, Ct);
        Assert.False(retry.IsCompleted);

        gate.SetResult();
        Assert.Equal((await first).Lsn, (await retry).Lsn);
        Assert.True((await retry).IsReplay);
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task A_retry_of_a_first_attempt_in_flight_too_long_is_told_to_come_back_and_writes_nothing()
    {
        await using var h = new PipelineHarness(configure: o => o.RequestInProgressWait = TimeSpan.FromMilliseconds(100));
        h.Pipeline.Start();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Db.ApplyGate = gate.Task;
        var first = h.Pipeline.WriteAsync(Post("stuck", "a", 1), Ct);
        await WritePipelineTests.WaitUntil(() => h.Wal.Records.Count == 1);

        var ex = await Assert.ThrowsAsync<RequestInProgressException>(() => h.Pipeline.WriteAsync(Post("stuck", "a", 1), Ct));
        Assert.True(ex.IsTransient);
        Assert.Single(h.Wal.Records);

        gate.SetResult();
        Assert.Equal(WriteStatus.Applied, (await first).Status);
    }

    // A first attempt held back by backpressure whose caller gives up leaves the cache without ever being answered; a retry
    // that found it waiting used to wait out RequestInProgressWait and be told to come back (409). It goes on as the request
    // itself now, and is written once. Raised by a read-only review.
    [Fact]
    public async Task A_retry_of_a_first_attempt_whose_caller_gave_up_in_backpressure_goes_on_as_the_request()
    {
        var audit = new InMemoryAuditSink();
        await using var h = new PipelineHarness(audit: audit, ack: AckLevel.Applied, configure: o =>
        {
            o.MaxLagRecords = 1;
            o.MaxLagTime = TimeSpan.FromMinutes(1);
            o.RequestInProgressWait = TimeSpan.FromMilliseconds(500);
        });
        h.Pipeline.Start();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        audit.AppendGate = gate.Task;
        Task<WriteOutcome> retry;
        try
        {
            await h.Pipeline.WriteAsync(Post("w0", "a0", 0), Ct); // applied, its audit held: the lag is full
            using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var first = h.Pipeline.WriteAsync(Post("x", "a1", 1), giveUp.Token);
            await Task.Delay(50, Ct);
            Assert.True(h.Pipeline.TryGetRemembered(new RequestKey("u1", "x"), out _), "the first attempt is not waiting in backpressure");
            retry = h.Pipeline.WriteAsync(Post("x", "a1", 1), Ct);
            await Task.Delay(50, Ct);
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
            await Task.Delay(1000, Ct); // past RequestInProgressWait
            Assert.False(retry.IsFaulted, $"the retry failed: {retry.Exception?.InnerException?.Message}");
        }
        finally
        {
            gate.SetResult();
        }

        var outcome = await retry.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal((WriteStatus.Applied, false), (outcome.Status, outcome.IsReplay));
        Assert.Single(h.Wal.Records, r => r.RequestId == "x");
    }

    // A different request behind an owner that a stop ends before the WAL is told the pipeline is unavailable (503), not
    // that its id is taken (422): the id never was.
    [Fact]
    public async Task A_different_request_behind_an_owner_ended_by_a_stop_is_told_the_pipeline_is_unavailable()
    {
        var db = new InMemoryDbWriter { LookupGate = new TaskCompletionSource().Task }; // the commit stage's lookup never ends
        await using var h = new PipelineHarness(db: db);
        h.Pipeline.Start();
        var owner = h.Pipeline.WriteAsync(Post("k", "a", 1), Ct);
        await Task.Delay(50, Ct);
        var other = h.Pipeline.WriteAsync(Post("k", "b", 9), Ct);
        await Task.Delay(50, Ct);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await h.Pipeline.StopAsync(timeout.Token);

        await Assert.ThrowsAnyAsync<Exception>(() => owner.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        await Assert.ThrowsAsync<PipelineUnavailableException>(() => other.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Empty(h.Wal.Records);
    }

    [Fact]
    public async Task Past_the_retention_window_an_expired_request_id_is_a_new_request()
    {
        await using var h = new PipelineHarness(configure: o =>
        {
            o.RequestIdCacheSize = 1;
            o.IdempotencyRetention = TimeSpan.FromSeconds(1);
        });
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(Post("old", "a", 1), Ct);
        await h.Pipeline.WriteAsync(Post("other", "b", 1), Ct);
        await h.Pipeline.WriteAsync(Post("another", "c", 1), Ct);
        await Task.Delay(1200, Ct);
        await h.Pipeline.RunMaintenanceAsync(Ct);

        Assert.Empty(await h.Db.FindRequestsAsync([new RequestKey("u1", "old")], Ct));
        var reused = await h.Pipeline.WriteAsync(Put("old", "a", 5), Ct);
        Assert.False(reused.IsReplay);
        Assert.Equal(4, h.Wal.Records.Count);
    }

    [Fact]
    public async Task An_applied_write_is_remembered_until_its_audit_so_a_retry_of_an_audited_write_waits_for_the_audit()
    {
        // The request-id cache forgets settled writes beyond its size, and a forgotten id is answered from the database's
        // outcome, which exists from the apply on: a write forgotten between its apply and its audit let a retry of an
        // Audited write hear "applied" before the audit entry existed (a review found it once the cache shrank to 1,024).
        var auditGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var audit = new InMemoryAuditSink { AppendGate = auditGate.Task };
        await using var h = new PipelineHarness(audit: audit, ack: AckLevel.Applied, configure: o =>
        {
            o.RequestIdCacheSize = 1;
            o.MaxLagTime = TimeSpan.FromHours(1);
        });
        h.Pipeline.Start();
        var first = h.Pipeline.WriteAsync(PipelineHarness.Create("w", "a") with { Ack = AckLevel.Audited }, Ct);
        Task<WriteOutcome> retry;
        try
        {
            await WritePipelineTests.WaitUntil(() => h.Pipeline.Positions.Applied >= new Lsn(1));
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(WriteStatus.Applied, (await h.Pipeline.WriteAsync(PipelineHarness.Create("f" + i, "f" + i), Ct)).Status);
            }

            Assert.True(h.Pipeline.TryGetRemembered(new RequestKey("u1", "w"), out _), "an applied but unaudited write was forgotten");
            retry = h.Pipeline.WriteAsync(PipelineHarness.Create("w", "a") with { Ack = AckLevel.Audited }, Ct);
            await Task.Delay(100, Ct);
            Assert.False(retry.IsCompleted, "a retry of an Audited write was answered before its audit");
            Assert.False(first.IsCompleted);
        }
        finally
        {
            auditGate.TrySetResult(); // also when an assertion failed: the pipeline's stop waits for the audit stage
        }

        var answer = await retry.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.True(answer.IsReplay);
        Assert.Equal(WriteStatus.Applied, answer.Status);
        Assert.Equal(WriteStatus.Applied, (await first.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Status);
        Assert.Single(audit.Entries, e => e.RequestId == "w");

        // Audited now: settled, so it is forgotten as later writes come, and a retry is answered from the database alike.
        for (var i = 3; i < 6; i++)
        {
            await h.Pipeline.WriteAsync(PipelineHarness.Create("f" + i, "f" + i) with { Ack = AckLevel.Audited }, Ct);
        }

        Assert.False(h.Pipeline.TryGetRemembered(new RequestKey("u1", "w"), out _));
        var late = await h.Pipeline.WriteAsync(PipelineHarness.Create("w", "a") with { Ack = AckLevel.Audited }, Ct);
        Assert.True(late.IsReplay);
        Assert.Equal(answer.Lsn, late.Lsn);
        Assert.Single(h.Wal.Records, r => r.RequestId == "w");
    }
}
