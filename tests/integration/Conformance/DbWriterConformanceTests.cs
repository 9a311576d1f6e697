using System.Text.Json;
using Nv.DbWriter;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Conformance;

/// <summary>The behaviour every <see cref="IDbWriter"/> must show, whatever the store. Subclasses supply the store.</summary>
/// <remarks>Only <see cref="IDbWriter"/> and <see cref="WalRecord"/> are used here, so a MongoDB subclass runs it unchanged.</remarks>
public abstract class DbWriterConformanceTests : IAsyncLifetime
{
    private IDbWriter? _writer;

    protected IDbWriter Writer => _writer ?? throw new InvalidOperationException("Not initialized.");

    /// <summary>Opens this test's store: empty on the first call, the same store (as left by the last writer) on later calls.</summary>
    protected abstract Task<IDbWriter> OpenWriterAsync();

    /// <summary>Makes the store fail writes transiently until the returned handle is disposed. The failure may strike
    /// mid-batch: the test batch holds a small write first, then large (64 KiB) documents.</summary>
    protected abstract Task<IAsyncDisposable> InjectTransientFailureAsync(IDbWriter writer);

    public async ValueTask InitializeAsync()
    {
        _writer = await OpenWriterAsync();
        await _writer.InitializeAsync(TestContext.Current.CancellationToken);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }

        GC.SuppressFinalize(this);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<IReadOnlyList<ApplyResult>> Apply(params WalRecord[] batch) => Writer.ApplyAsync(batch, Ct);

    private static void AssertJson(string? expected, JsonElement? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.True(JsonElement.DeepEquals(Json(expected), actual.Value), $"expected {expected}, got {actual.Value.GetRawText()}");
    }

    private async Task AssertStored(string entityId, string? expectedJson, long expectedLsn = 0, string dtoType = DefaultType)
    {
        var stored = await Writer.GetAsync(dtoType, entityId, Ct);
        if (expectedJson is null)
        {
            Assert.Null(stored);
            return;
        }

        Assert.NotNull(stored);
        AssertJson(expectedJson, stored.Document);
        Assert.Equal(dtoType, stored.DtoType);
        Assert.Equal(entityId, stored.EntityId);
        if (expectedLsn != 0)
        {
            Assert.Equal(new Lsn(expectedLsn), stored.Lsn);
            Assert.Equal(IdFor(expectedLsn), stored.WalId);
            Assert.Equal(ReplayKey.Create("test", "tests", 1, dtoType, entityId), stored.ReplayKey);
        }
    }

    [Fact]
    public async Task Create_update_delete_return_before_and_after_images()
    {
        var results = await Apply(
            Create(1, "o1", """{"total":10}"""),
            Update(2, "o1", """{"total":20,"note":"x"}"""),
            Delete(3, "o1"));

        Assert.Equal([1L, 2L, 3L], results.Select(r => r.Lsn.Value));
        Assert.All(results, r => Assert.Equal(ApplyStatus.Applied, r.Status));
        Assert.All(results, r => Assert.Equal(RejectReason.None, r.RejectReason));
        AssertJson(null, results[0].Before);
        AssertJson("""{"total":10}""", results[0].After);
        AssertJson("""{"total":10}""", results[1].Before);
        AssertJson("""{"total":20,"note":"x"}""", results[1].After);
        AssertJson("""{"total":20,"note":"x"}""", results[2].Before);
        AssertJson(null, results[2].After);
        await AssertStored("o1", null);
    }

    [Fact]
    public async Task Update_replaces_the_whole_document_and_get_returns_the_guard_columns()
    {
        await Apply(Create(1, "o1", """{"a":1,"b":2}"""));
        await Apply(Update(2, "o1", """{"c":3}"""));
        await AssertStored("o1", """{"c":3}""", expectedLsn: 2);
        Assert.Null(await Writer.GetAsync(DefaultType, "missing", Ct));
        Assert.Null(await Writer.GetAsync("NeverWritten", "o1", Ct));
    }

    [Fact]
    public async Task Reapplying_a_batch_returns_AlreadyApplied_with_the_same_before_and_changes_nothing()
    {
        WalRecord[] batch =
        [
            Create(1, "o1", """{"v":1}"""),
            Create(2, "o2", """{"v":2}"""),
            Update(3, "o1", """{"v":3}"""),
            Delete(4, "o2"),
        ];
        var first = await Apply(batch);
        Assert.All(first, r => Assert.Equal(ApplyStatus.Applied, r.Status));
        await Apply(Update(5, "o1", """{"v":5}"""));

        var again = await Apply(batch);

        Assert.All(again, r => Assert.Equal(ApplyStatus.AlreadyApplied, r.Status));
        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal(first[i].Lsn, again[i].Lsn);
            AssertJson(first[i].Before?.GetRawText(), again[i].Before);
            AssertJson(first[i].After?.GetRawText(), again[i].After);
        }

        await AssertStored("o1", """{"v":5}""", expectedLsn: 5);
        await AssertStored("o2", null);
        Assert.Equal(new Lsn(5), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task An_older_record_after_a_newer_one_is_AlreadyApplied_and_does_not_overwrite()
    {
        await Apply(Create(1, "o1", """{"v":1}"""));
        await Apply(Update(3, "o1", """{"v":3}"""));

        var results = await Apply(Update(2, "o1", """{"v":2}"""));

        Assert.Equal(ApplyStatus.AlreadyApplied, Assert.Single(results).Status);
        await AssertStored("o1", """{"v":3}""", expectedLsn: 3);
        Assert.Equal(new Lsn(3), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task A_replayed_create_after_a_delete_cannot_resurrect_the_entity()
    {
        await Apply(Create(1, "o1", """{"v":1}"""), Delete(2, "o1"));
        var replay = await Apply(Create(1, "o1", """{"v":1}"""));
        Assert.Equal(ApplyStatus.AlreadyApplied, Assert.Single(replay).Status);
        await AssertStored("o1", null);

        // Out of order: the tombstone (LSN 5) is newer than a create that was never applied (LSN 4).
        await Apply(Create(3, "o2", """{"v":3}"""));
        await Apply(Delete(5, "o2"));
        var late = await Apply(Create(4, "o2", """{"v":4}"""));
        Assert.Equal(ApplyStatus.AlreadyApplied, Assert.Single(late).Status);
        await AssertStored("o2", null);
    }

    [Fact]
    public async Task A_create_on_a_tombstone_at_a_higher_lsn_is_applied_with_no_before_image()
    {
        await Apply(Create(1, "o1", """{"v":1}"""), Delete(2, "o1"));
        var results = await Apply(Create(3, "o1", """{"v":3}"""));
        var result = Assert.Single(results);
        Assert.Equal(ApplyStatus.Applied, result.Status);
        AssertJson(null, result.Before);
        await AssertStored("o1", """{"v":3}""", expectedLsn: 3);
    }

    [Fact]
    public async Task Rejections_are_stored_and_returned_again_on_reapply()
    {
        await Apply(Create(1, "o1", """{"v":1}"""));
        WalRecord[] batch =
        [
            Create(2, "o1", """{"v":2}"""),
            Update(3, "missing", """{"v":3}"""),
            Delete(4, "missing"),
            Update(5, "o1", """{"v":5}""", expectedLsn: new Lsn(99)),
            Update(6, "missing", """{"v":6}""", expectedLsn: new Lsn(1)),
            Update(7, "o1", """{"v":7}""", expectedLsn: new Lsn(1)),
        ];

        var first = await Apply(batch);

        RejectReason[] expected =
            [RejectReason.AlreadyExists, RejectReason.NotFound, RejectReason.NotFound, RejectReason.PreconditionFailed, RejectReason.PreconditionFailed];
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(ApplyStatus.Rejected, first[i].Status);
            Assert.Equal(expected[i], first[i].RejectReason);
            Assert.False(string.IsNullOrEmpty(first[i].Error));
            Assert.Null(first[i].After);
        }

        Assert.Equal(ApplyStatus.Applied, first[5].Status);
        AssertJson("""{"v":1}""", first[5].Before);
        await AssertStored("o1", """{"v":7}""", expectedLsn: 7);

        // Re-apply after the state changed again: stored outcomes are returned, never re-decided.
        await Apply(Update(8, "o1", """{"v":8}"""));
        var again = await Apply(batch);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(ApplyStatus.Rejected, again[i].Status);
            Assert.Equal(expected[i], again[i].RejectReason);
        }

        Assert.Equal(ApplyStatus.AlreadyApplied, again[5].Status);
        AssertJson("""{"v":1}""", again[5].Before);
        await AssertStored("o1", """{"v":8}""", expectedLsn: 8);

        var resolutions = await Writer.GetResolutionsAsync(new Lsn(1), 6, Ct);
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L], resolutions.Select(r => r.Lsn.Value));
        Assert.Equal(expected, resolutions.Take(5).Select(r => r.RejectReason));
        Assert.All(resolutions.Take(5), r => Assert.Equal(ApplyStatus.Rejected, r.Status));
        Assert.Equal(ApplyStatus.Applied, resolutions[5].Status);
        Assert.Equal(IdFor(7), resolutions[5].WalId);
        Assert.Equal("req-7", resolutions[5].RequestId);
    }

    [Fact]
    public async Task A_matching_expected_lsn_applies()
    {
        await Apply(Create(1, "o1", """{"v":1}"""));
        var results = await Apply(Update(2, "o1", """{"v":2}""", expectedLsn: new Lsn(1)), Delete(3, "o1", expectedLsn: new Lsn(2)));
        Assert.All(results, r => Assert.Equal(ApplyStatus.Applied, r.Status));
        await AssertStored("o1", null);
    }

    [Fact]
    public async Task FindByRequestId_returns_the_first_record_of_the_request()
    {
        await Apply(
            Create(1, "o1", """{"v":1}""", requestId: "r-a"),
            Create(2, "o2", """{"v":2}""", requestId: "r-b"),
            Create(3, "o1", """{"v":3}""", requestId: "r-b"));

        var a = await Writer.FindByRequestIdAsync("r-a", Ct);
        Assert.NotNull(a);
        Assert.Equal(new Lsn(1), a.Lsn);
        Assert.Equal(ApplyStatus.Applied, a.Status);
        Assert.Null(a.Before);

        var b = await Writer.FindByRequestIdAsync("r-b", Ct);
        Assert.NotNull(b);
        Assert.Equal(new Lsn(2), b.Lsn);
        Assert.Equal(IdFor(2), b.WalId);

        Assert.Null(await Writer.FindByRequestIdAsync("r-unknown", Ct));
    }

    [Fact]
    public async Task FindByRequestIds_answers_a_whole_batch_with_the_first_record_of_each_request()
    {
        // 1,200 ids: more than one query's worth of parameters, so the lookup must split and merge.
        var records = Enumerable.Range(1, 1_200).Select(i => Create(i, "o" + i, """{"v":1}""", requestId: "r-" + i)).ToList();
        records.Add(Create(1_201, "o1", """{"v":2}""", requestId: "r-7")); // a second record of r-7: rejected, not first
        await Apply([.. records]);

        var asked = Enumerable.Range(1, 1_200).Select(i => "r-" + i).Append("r-unknown").ToList();
        var found = await Writer.FindByRequestIdsAsync(asked, Ct);

        Assert.Equal(1_200, found.Count);
        Assert.False(found.ContainsKey("r-unknown"));
        Assert.Equal(new Lsn(7), found["r-7"].Lsn);
        Assert.Equal(ApplyStatus.Applied, found["r-7"].Status);
        Assert.Equal(new Lsn(1_200), found["r-1200"].Lsn);
        Assert.Empty(await Writer.FindByRequestIdsAsync([], Ct));
    }

    private const string FingerprintA = "1111111111111111111111111111111111111111111111111111111111111111";
    private const string FingerprintB = "2222222222222222222222222222222222222222222222222222222222222222";

    [Fact]
    public async Task An_audit_event_is_applied_without_touching_an_entity_and_its_request_outcome_is_stored()
    {
        // Between two writes of the entity it names: the event must neither create nor change it.
        var payload = Json("""{"category":"system-events","operation":"report-exported","after":{"rows":3}}""");
        var batch = new[]
        {
            Create(1, "o1", """{"v":1}"""),
            Create(2, "o1", "{}", requestId: "ev-1") with { Operation = WalOperation.AuditEvent, DtoType = "", Payload = payload, UserId = "billing" },
            Update(3, "o1", """{"v":3}"""),
        };

        var results = await Writer.ApplyAsync(batch, Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.Null(results[1].Before);
        AssertJson("""{"v":3}""", (await Writer.GetAsync(DefaultType, "o1", Ct))!.Document);
        var outcome = (await Writer.FindRequestsAsync([new RequestKey("billing", "ev-1")], Ct)).Values.Single();
        Assert.Equal((new Lsn(2), ApplyStatus.Applied, WalOperation.AuditEvent), (outcome.Lsn, outcome.Status, outcome.Operation));
        Assert.Equal(((Guid?)batch[1].Id, (int?)null), (outcome.RecordId, outcome.FailedItem)); // the event's entry id
        Assert.Equal(new Lsn(3), await Writer.GetResolvedThroughAsync(Ct));
        Assert.Equal(ApplyStatus.Applied, (await Writer.GetResolutionsAsync(new Lsn(1), 1, Ct)).Single().Status);
        Assert.Equal(ApplyStatus.AlreadyApplied, (await Writer.ApplyAsync([batch[1]], Ct)).Single().Status);
    }

    [Fact]
    public async Task A_requests_outcome_is_stored_with_its_apply_in_its_callers_scope_and_the_first_record_wins()
    {
        await Apply(
            Create(1, "o1", """{"v":1}""", requestId: "r-1") with { UserId = "alice", Fingerprint = FingerprintA },
            Create(2, "o1", """{"v":2}""", requestId: "r-1") with { UserId = "bob", Fingerprint = FingerprintB },  // another caller's r-1
            Create(3, "o3", """{"v":3}""", requestId: "r-1") with { UserId = "alice", Fingerprint = FingerprintB }, // a second record of alice's r-1
            Delete(4, "nope", requestId: "r-4"));

        var found = await Writer.FindRequestsAsync(
            [new RequestKey("alice", "r-1"), new RequestKey("bob", "r-1"), new RequestKey("", "r-4"), new RequestKey("carol", "r-1")], Ct);

        Assert.Equal(3, found.Count);
        var alice = found[new RequestKey("alice", "r-1")];
        Assert.Equal((new Lsn(1), ApplyStatus.Applied, FingerprintA), (alice.Lsn, alice.Status, alice.Fingerprint));
        Assert.Equal((WalOperation.Create, DefaultType, "o1", "alice"), (alice.Operation, alice.DtoType, alice.EntityId, alice.Scope));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(1), alice.CreatedAt);
        var bob = found[new RequestKey("bob", "r-1")];
        Assert.Equal((new Lsn(2), ApplyStatus.Rejected, RejectReason.AlreadyExists), (bob.Lsn, bob.Status, bob.RejectReason));
        var anonymous = found[new RequestKey("", "r-4")];
        Assert.Equal((new Lsn(4), ApplyStatus.Rejected, RejectReason.NotFound), (anonymous.Lsn, anonymous.Status, anonymous.RejectReason));
        Assert.Null(anonymous.Fingerprint);
        Assert.Empty(await Writer.FindRequestsAsync([], Ct));
    }

    [Fact]
    public async Task Request_outcomes_outlive_the_resolution_purge_and_expire_only_by_age()
    {
        await Apply(
            Create(1, "o1", "{}", requestId: "old") with { Timestamp = DateTimeOffset.UnixEpoch.AddHours(1) },
            Create(2, "o2", "{}", requestId: "new") with { Timestamp = DateTimeOffset.UnixEpoch.AddHours(30) });
        await Writer.MakeDurableAsync(Ct);
        await Writer.PurgeAsync(new Lsn(2), Ct); // WAL truncation's purge: the resolutions go
        Assert.Empty(await Writer.GetResolutionsAsync(Lsn.None, 10, Ct));
        Assert.Equal(2, (await Writer.FindRequestsAsync([new RequestKey("", "old"), new RequestKey("", "new")], Ct)).Count);

        Assert.Equal(1, await Writer.PurgeRequestsAsync(DateTimeOffset.UnixEpoch.AddHours(6), Ct));
        var left = await Writer.FindRequestsAsync([new RequestKey("", "old"), new RequestKey("", "new")], Ct);
        Assert.Equal(new RequestKey("", "new"), Assert.Single(left).Key);
        Assert.Equal(0, await Writer.PurgeRequestsAsync(DateTimeOffset.UnixEpoch.AddHours(6), Ct));
    }

    [Fact]
    public async Task Request_outcomes_survive_reopening_the_store()
    {
        await Apply(Update(1, "missing", "{}", requestId: "r-x") with { UserId = "alice", Fingerprint = FingerprintA });
        await Writer.MakeDurableAsync(Ct);
        await Writer.DisposeAsync();
        _writer = await OpenWriterAsync();
        await _writer.InitializeAsync(Ct);

        var outcome = (await Writer.FindRequestsAsync([new RequestKey("alice", "r-x")], Ct))[new RequestKey("alice", "r-x")];
        Assert.Equal((new Lsn(1), ApplyStatus.Rejected, RejectReason.NotFound, FingerprintA), (outcome.Lsn, outcome.Status, outcome.RejectReason, outcome.Fingerprint));
    }

    [Fact]
    public async Task ResolvedThrough_stops_at_a_gap_and_advances_when_it_is_filled()
    {
        Assert.Equal(Lsn.None, await Writer.GetResolvedThroughAsync(Ct));
        await Apply(Create(1, "o1", "{}"), Create(2, "o2", "{}"));
        Assert.Equal(new Lsn(2), await Writer.GetResolvedThroughAsync(Ct));

        await Apply(Create(4, "o4", "{}"), Create(5, "o5", "{}"));
        await Apply(Create(7, "o7", "{}"));
        Assert.Equal(new Lsn(2), await Writer.GetResolvedThroughAsync(Ct));

        await Apply(Create(3, "o3", "{}"));
        Assert.Equal(new Lsn(5), await Writer.GetResolvedThroughAsync(Ct));

        // A rejected record resolves its LSN too.
        await Apply(Update(6, "nope", "{}"));
        Assert.Equal(new Lsn(7), await Writer.GetResolvedThroughAsync(Ct));

        // Re-applying old records never moves it back.
        await Apply(Create(1, "o1", "{}"));
        Assert.Equal(new Lsn(7), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task GetResolutions_returns_the_lsn_range_in_ascending_order()
    {
        await Apply(Create(1, "o1", "{}"), Create(2, "o2", "{}"), Update(3, "o1", """{"x":1}"""), Create(5, "o5", "{}"));

        var page = await Writer.GetResolutionsAsync(new Lsn(1), 2, Ct);
        Assert.Equal([2L, 3L], page.Select(r => r.Lsn.Value));
        AssertJson("{}", page[1].Before);

        var tail = await Writer.GetResolutionsAsync(new Lsn(3), 10, Ct);
        Assert.Equal([5L], tail.Select(r => r.Lsn.Value));
        Assert.Empty(await Writer.GetResolutionsAsync(new Lsn(5), 10, Ct));
    }

    [Fact]
    public async Task Purge_removes_resolutions_and_tombstones_but_keeps_live_data_and_the_watermark()
    {
        await Apply(
            Create(1, "o1", """{"v":1}"""),
            Create(2, "o2", """{"v":2}"""),
            Delete(3, "o2"),
            Update(4, "o1", """{"v":4}"""));
        await Apply(Create(6, "o6", """{"v":6}""")); // gap at 5: resolved through 4

        await Writer.PurgeAsync(new Lsn(100), Ct);

        Assert.Equal(new Lsn(4), await Writer.GetResolvedThroughAsync(Ct));
        var left = await Writer.GetResolutionsAsync(Lsn.None, 100, Ct);
        Assert.Equal([6L], left.Select(r => r.Lsn.Value)); // beyond the watermark: kept
        await AssertStored("o1", """{"v":4}""", expectedLsn: 4);
        await AssertStored("o6", """{"v":6}""", expectedLsn: 6);
        await AssertStored("o2", null);

        // Replaying purged records changes nothing and cannot resurrect the purged tombstone's entity.
        var replay = await Apply(Create(1, "o1", """{"v":1}"""), Create(2, "o2", """{"v":2}"""));
        Assert.All(replay, r => Assert.Equal(ApplyStatus.AlreadyApplied, r.Status));
        await AssertStored("o1", """{"v":4}""", expectedLsn: 4);
        await AssertStored("o2", null);

        // The slot of a purged tombstone can be created again by a new record.
        var recreate = await Apply(Create(5, "o2", """{"v":5}"""));
        Assert.Equal(ApplyStatus.Applied, Assert.Single(recreate).Status);
        Assert.Equal(new Lsn(6), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task Everything_committed_survives_dispose_and_reopen()
    {
        await Apply(
            Create(1, "o1", """{"v":1}""", requestId: "r1"),
            Create(2, "o2", """{"v":2}"""),
            Delete(3, "o2"),
            Create(4, "o1", """{"v":4}"""));
        await Apply(Create(6, "o6", """{"v":6}"""));

        await Writer.DisposeAsync();
        _writer = await OpenWriterAsync();
        await Writer.InitializeAsync(Ct);

        await AssertStored("o1", """{"v":1}""", expectedLsn: 1);
        await AssertStored("o2", null);
        await AssertStored("o6", """{"v":6}""", expectedLsn: 6);
        Assert.Equal(new Lsn(4), await Writer.GetResolvedThroughAsync(Ct));
        Assert.Equal(new Lsn(1), (await Writer.FindByRequestIdAsync("r1", Ct))?.Lsn);
        var rejected = Assert.Single(await Writer.GetResolutionsAsync(new Lsn(3), 1, Ct));
        Assert.Equal(RejectReason.AlreadyExists, rejected.RejectReason);

        var replay = await Apply(Create(2, "o2", """{"v":2}"""), Create(4, "o1", """{"v":4}"""));
        Assert.Equal(ApplyStatus.AlreadyApplied, replay[0].Status);
        Assert.Equal(ApplyStatus.Rejected, replay[1].Status);
        Assert.Equal(RejectReason.AlreadyExists, replay[1].RejectReason);

        await Apply(Create(5, "o5", "{}"));
        Assert.Equal(new Lsn(6), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task A_batch_with_a_transient_failure_commits_nothing()
    {
        await Apply(Create(1, "o1", """{"v":1}"""), Create(2, "o2", """{"v":2}"""));
        var big = "\"" + new string('x', 64 * 1024) + "\"";
        WalRecord[] batch =
        [
            Update(3, "o1", """{"v":3}"""),
            Delete(4, "o2"),
            Create(5, "o5", $$"""{"blob":{{big}}}"""),
            Create(6, "o6", $$"""{"blob":{{big}}}"""),
        ];

        IReadOnlyList<ApplyResult> failed;
        await using (await InjectTransientFailureAsync(Writer))
        {
            failed = await Apply(batch);
        }

        Assert.Equal(batch.Length, failed.Count);
        Assert.All(failed, r => Assert.Equal(ApplyStatus.Transient, r.Status));
        Assert.All(failed, r => Assert.False(string.IsNullOrEmpty(r.Error)));
        Assert.Equal([3L, 4L, 5L, 6L], failed.Select(r => r.Lsn.Value));
        await AssertStored("o1", """{"v":1}""", expectedLsn: 1);
        await AssertStored("o2", """{"v":2}""", expectedLsn: 2);
        await AssertStored("o5", null);
        Assert.Empty(await Writer.GetResolutionsAsync(new Lsn(2), 10, Ct));
        Assert.Equal(new Lsn(2), await Writer.GetResolvedThroughAsync(Ct));

        var retried = await Apply(batch);
        Assert.All(retried, r => Assert.Equal(ApplyStatus.Applied, r.Status));
        await AssertStored("o1", """{"v":3}""", expectedLsn: 3);
        await AssertStored("o2", null);
        Assert.Equal(new Lsn(6), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task A_rejection_does_not_fail_the_rest_of_the_batch()
    {
        var results = await Apply(
            Create(1, "o1", "{}"),
            Update(2, "missing", "{}"),
            Create(3, "o3", "{}", dtoType: "Invoice"));

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        await AssertStored("o3", "{}", expectedLsn: 3, dtoType: "Invoice");
        Assert.Null(await Writer.GetAsync(DefaultType, "o3", Ct));
        Assert.Equal(new Lsn(3), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task Documents_round_trip_unicode_escapes_numbers_and_nesting()
    {
        const string json = """{"name":"Zoë 🚀 \"quoted\" <tag> \u0001","n":1.50,"big":12345678901234567890,"neg":-0.0,"nested":{"a":[1,{"b":null}],"t":true}}""";
        await Apply(Create(1, "o1", json));
        await AssertStored("o1", json, expectedLsn: 1);
        var stored = await Writer.GetAsync(DefaultType, "o1", Ct);
        Assert.Equal("Zoë 🚀 \"quoted\" <tag> \u0001", stored!.Document.GetProperty("name").GetString());

        var result = Assert.Single(await Apply(Update(2, "o1", "{}")));
        AssertJson(json, result.Before);
        Assert.Equal("Zoë 🚀 \"quoted\" <tag> \u0001", result.Before!.Value.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Entity_ids_are_data_not_sql()
    {
        string[] ids = ["o'1", "o\"1", "x; DROP TABLE Order; --", "ünï 🚀", "a:b:c", " "];
        var lsn = 0L;
        await Apply(ids.Select(id => Create(++lsn, id, $$"""{"i":{{lsn}}}""")).ToArray());
        lsn = 0;
        foreach (var id in ids)
        {
            lsn++;
            await AssertStored(id, $$"""{"i":{{lsn}}}""", expectedLsn: lsn);
        }
    }

    [Fact]
    public async Task An_empty_batch_returns_no_results()
    {
        Assert.Empty(await Apply());
        Assert.Equal(Lsn.None, await Writer.GetResolvedThroughAsync(Ct));
    }
}
