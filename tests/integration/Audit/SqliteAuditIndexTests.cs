using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Sqlite;

namespace Nv.Integration.Tests.Audit;

/// <summary>The three query shapes of the audit trail (an entity's history, a user's activity, a filtered search, each by
/// time) read one composite index range in order: <c>EXPLAIN QUERY PLAN</c> of the exact statement the store runs names
/// the shape's index and shows no sort of its own. A long append (boot replay) may defer the indexes and build them again
/// in bulk: the answers stay the same throughout.</summary>
public sealed class SqliteAuditIndexTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string Cursor = new AuditCursor("2025-03-01T00:00:00.0000000Z", Guid.Empty.ToString("D")).Encode();

    public static TheoryData<string, string> Shapes() => new()
    {
        { "history", "ix_audit_entries_entity_time" },
        { "history-page-2", "ix_audit_entries_entity_time" },
        { "as-of", "ix_audit_entries_entity_time" },
        { "history-any-category", "ix_audit_entries_entity_time" },
        { "user", "ix_audit_entries_user_time" },
        { "user-range", "ix_audit_entries_user_time" },
        { "user-page-2-ascending", "ix_audit_entries_user_time" },
        { "category", "ix_audit_entries_category_time" },
        { "category-range", "ix_audit_entries_category_time" },
        { "category-operation", "ix_audit_entries_category_time" },
        { "category-service-range", "ix_audit_entries_category_time" },
        { "time-range", "ix_audit_entries_timestamp" },
    };

    private static readonly string[] ShapeNames =
    [
        "history", "history-page-2", "as-of", "history-any-category", "user", "user-range", "user-page-2-ascending", "category",
        "category-range", "category-operation", "category-service-range", "time-range",
    ];

    private static AuditQuery Shape(string name) => name switch
    {
        "history" => new AuditQuery { DtoType = "Order", EntityId = "o-1", Category = AuditCategory.EntityMutation },
        "history-page-2" => new AuditQuery { DtoType = "Order", EntityId = "o-1", Category = AuditCategory.EntityMutation, Cursor = Cursor },
        "as-of" => new AuditQuery { DtoType = "Order", EntityId = "o-1", Category = AuditCategory.EntityMutation, To = T0.AddDays(1), Limit = 16 },
        "history-any-category" => new AuditQuery { DtoType = "Order", EntityId = "o-1", Ascending = true },
        "user" => new AuditQuery { UserId = "alice" },
        "user-range" => new AuditQuery { UserId = "alice", From = T0, To = T0.AddDays(1) },
        "user-page-2-ascending" => new AuditQuery { UserId = "alice", Ascending = true, Cursor = Cursor },
        "category" => new AuditQuery { Category = AuditCategory.Permission },
        "category-range" => new AuditQuery { Category = AuditCategory.SystemEvents, From = T0, To = T0.AddHours(1) },
        "category-operation" => new AuditQuery { Category = AuditCategory.SystemEvents, Operation = "report-exported" },
        "category-service-range" => new AuditQuery { Category = AuditCategory.Permission, Service = "orders", From = T0 },
        "time-range" => new AuditQuery { From = T0, To = T0.AddHours(1) },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Each_query_shape_reads_its_composite_index_in_order(string shape, string index)
    {
        await SeedAsync();
        var plan = Explain(Shape(shape));
        Assert.Contains(plan, line => line.Contains("USING INDEX " + index + " ", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("TEMP B-TREE", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.StartsWith("SCAN audit_entries", StringComparison.Ordinal) && !line.Contains("INDEX", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_replaced_version_3_indexes_are_gone_and_no_other_was_added()
    {
        await SeedAsync();
        Assert.Equal(AllQueryIndexes, QueryIndexNames());
    }

    [Fact]
    public async Task The_shapes_return_the_same_entries_as_a_full_scan_would()
    {
        await AssertShapesMatchAsync(await SeedAsync());
    }

    [Fact]
    public async Task A_long_append_runs_without_the_query_indexes_and_the_build_brings_back_every_one_with_the_same_answers()
    {
        await ReopenWithThresholdAsync(100);
        Assert.True(await Sink.DeferIndexesAsync(1_000, Ct));
        Assert.Equal(["ix_audit_entries_timestamp"], QueryIndexNames()); // kept: time ranges and the operations view

        var seeded = await SeedAsync();
        await AssertShapesMatchAsync(seeded); // answered by scanning meanwhile
        Assert.Contains(Explain(Shape("history")), line => line.StartsWith("SCAN audit_entries", StringComparison.Ordinal));
        Assert.Contains(Explain(Shape("time-range")), line => line.Contains("USING INDEX ix_audit_entries_timestamp ", StringComparison.Ordinal));

        await Sink.BuildIndexesAsync(Ct);
        Assert.Equal(AllQueryIndexes, QueryIndexNames());
        await AssertShapesMatchAsync(seeded);
        Assert.Contains(Explain(Shape("history")), line => line.Contains("USING INDEX ix_audit_entries_entity_time ", StringComparison.Ordinal));
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task Indexes_are_kept_when_fewer_entries_come_than_the_store_holds_below_the_threshold_or_when_turned_off()
    {
        await SeedAsync(); // 305 entries held
        await ReopenWithThresholdAsync(100);
        Assert.False(await Sink.DeferIndexesAsync(300, Ct)); // fewer than held: the build would cost more than it saves
        await ReopenWithThresholdAsync(2_000);
        Assert.False(await Sink.DeferIndexesAsync(1_000, Ct));
        await ReopenWithThresholdAsync(0);
        Assert.False(await Sink.DeferIndexesAsync(1_000_000, Ct));
        Assert.Equal(AllQueryIndexes, QueryIndexNames());
    }

    [Fact]
    public async Task Indexes_a_run_stopped_mid_replay_left_missing_stay_missing_until_the_next_build_and_queries_still_answer()
    {
        var seeded = await SeededWithIndexesDeferredAsync();
        await ReopenAsync(); // the next start (opening never drops or builds them: the replay decides)
        Assert.Equal(["ix_audit_entries_timestamp"], QueryIndexNames());
        await AssertShapesMatchAsync(seeded);

        await Sink.BuildIndexesAsync(Ct);
        Assert.Equal(AllQueryIndexes, QueryIndexNames());
        await Sink.BuildIndexesAsync(Ct); // nothing missing: nothing to do
        Assert.Equal(AllQueryIndexes, QueryIndexNames());
    }

    [Fact]
    public async Task A_build_takes_the_writer_one_index_at_a_time_so_appends_land_between_two_indexes()
    {
        var seeded = await SeededWithIndexesDeferredAsync();

        // The build pauses after its first index, outside the writer: an append must complete meanwhile (a build holding
        // the writer throughout would keep it waiting, and this test would time out).
        using var paused = new SemaphoreSlim(0);
        using var resume = new SemaphoreSlim(0);
        var sink = (SqliteAuditSink)Sink;
        sink.StepHook = step =>
        {
            if (step == "index-built" && sink.StepHook is not null)
            {
                sink.StepHook = null; // the first index only
                paused.Release();
                resume.Wait(TimeSpan.FromSeconds(60), Ct);
            }
        };
        var build = Task.Run(() => Sink.BuildIndexesAsync(Ct), Ct);
        var appended = Entries(5, service: "live");
        try
        {
            Assert.True(await paused.WaitAsync(TimeSpan.FromSeconds(30), Ct), "the build did not reach its first index");
            Assert.Equal(2, QueryIndexNames().Count); // the time index and the first one built
            Assert.Equal(5, await Sink.AppendAsync(appended, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));
            Assert.False(build.IsCompleted);
        }
        finally
        {
            resume.Release(); // also when an assertion failed: the build ends before the store closes
            await build.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        }

        Assert.Equal(AllQueryIndexes, QueryIndexNames());
        await AssertShapesMatchAsync([.. seeded, .. appended]);
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task A_build_without_room_for_it_on_the_filesystem_writes_nothing_and_a_later_one_succeeds()
    {
        var seeded = await SeededWithIndexesDeferredAsync();
        var sink = (SqliteAuditSink)Sink;
        var size = new FileInfo(FilePath).Length;

        sink.FreeSpaceProbe = () => (size / 2) + (256L << 20) - 1; // one byte short of half the store plus 256 MiB
        var refused = await Assert.ThrowsAsync<IOException>(() => Sink.BuildIndexesAsync(Ct));
        Assert.StartsWith("Not building audit query index ", refused.Message, StringComparison.Ordinal);
        Assert.Equal(["ix_audit_entries_timestamp"], QueryIndexNames());
        await AssertShapesMatchAsync(seeded);

        sink.FreeSpaceProbe = null; // this machine's own answer: room enough
        await Sink.BuildIndexesAsync(Ct);
        Assert.Equal(AllQueryIndexes, QueryIndexNames());
    }

    [Fact]
    public async Task A_cancelled_build_interrupts_the_index_in_progress_leaves_no_half_index_and_a_later_build_makes_it()
    {
        await SeededWithIndexesDeferredAsync();
        BulkRows(300_000); // enough for one index to take a while

        // Cancelled once the first index's statement is under way (a stop during a retried build on a running host).
        var sink = (SqliteAuditSink)Sink;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        sink.StepHook = step =>
        {
            if (step == "index-building" && sink.StepHook is not null)
            {
                sink.StepHook = null;
                // Its own thread, not a timer: on a loaded machine (the whole suite at once) a pool timer fired only after
                // the whole build had finished, once (a fresh-clone run).
                new Thread(() =>
                {
                    Thread.Sleep(30);
                    stop.Cancel();
                }) { IsBackground = true }.Start();
            }
        };
        var stopped = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Sink.BuildIndexesAsync(stop.Token));
        var took = clock.Elapsed;

        // Interrupted inside the statement (SQLITE_INTERRUPT), not between two indexes: the index rolled back whole.
        Assert.Equal(SQLitePCL.raw.SQLITE_INTERRUPT, Assert.IsType<SqliteException>(stopped.InnerException).SqliteErrorCode);
        Assert.True(QueryIndexNames().Count < AllQueryIndexes.Length, $"the build finished in {took.TotalMilliseconds:F0} ms before the cancellation");
        using (var raw = Raw())
        using (var check = raw.CreateCommand())
        {
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", check.ExecuteScalar());
        }

        var whole = System.Diagnostics.Stopwatch.StartNew();
        await Sink.BuildIndexesAsync(Ct);
        Assert.Equal(AllQueryIndexes, QueryIndexNames());
        TestContext.Current.TestOutputHelper?.WriteLine($"stopped after {took.TotalMilliseconds:F0} ms; the whole build then took {whole.ElapsedMilliseconds} ms");
    }

    // Rows of a service of their own written straight into the table (their chain is not the point here).
    private void BulkRows(int count)
    {
        using var raw = Raw();
        using var command = raw.CreateCommand();
        command.CommandText = """
            INSERT INTO audit_entries (id, timestamp, service, category, operation, user_id, dto_type, entity_id, changes_json, metadata_json, request_id, sequence, prev_hash, hash)
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)
            SELECT 'bulk-' || i, '2025-03-01T00:00:00.0000000Z', 'bulk', 'entity-mutation', 'update', 'user-' || (i % 50), 'Order',
                   'o-' || abs(random() % 100000), '[]', '{}', hex(randomblob(8)), i, '00', '00' FROM n
            """;
        command.Parameters.AddWithValue("$count", count);
        command.ExecuteNonQuery();
    }

    private static readonly string[] AllQueryIndexes =
        ["ix_audit_entries_category_time", "ix_audit_entries_entity_time", "ix_audit_entries_request_id", "ix_audit_entries_timestamp", "ix_audit_entries_user_time"];

    // A store whose four deferrable indexes a long append dropped, then seeded: the state a replay leaves before its build.
    private async Task<List<AuditEntry>> SeededWithIndexesDeferredAsync()
    {
        await ReopenWithThresholdAsync(1);
        Assert.True(await Sink.DeferIndexesAsync(1_000, Ct));
        return await SeedAsync();
    }

    // The store keeps a copy of its options (AuditSinks.OpenSqlite).
    private async Task ReopenWithThresholdAsync(long threshold)
    {
        Options.BulkIndexThreshold = threshold;
        await ReopenAsync();
    }

    private List<string> QueryIndexNames()
    {
        using var raw = Raw();
        using var command = raw.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries' AND sql IS NOT NULL ORDER BY name";
        var names = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private async Task AssertShapesMatchAsync(List<AuditEntry> seeded)
    {
        foreach (var name in ShapeNames)
        {
            var query = Shape(name) with { Limit = 1000 };
            var page = await Sink.QueryAsync(query, Ct);
            var expected = seeded.Where(e => Matches(query, e))
                .OrderBy(e => e.Timestamp).ThenBy(e => e.Id.ToString("D"), StringComparer.Ordinal)
                .Select(e => e.Id).ToList();
            if (!query.Ascending)
            {
                expected.Reverse();
            }

            Assert.True(expected.SequenceEqual(page.Entries.Select(e => e.Id)), name);
        }

        var byRequest = await Sink.QueryAsync(new AuditQuery { RequestId = "req-42" }, Ct);
        Assert.Equal(seeded.Where(e => e.RequestId == "req-42").Select(e => e.Id), byRequest.Entries.Select(e => e.Id));
    }

    private static bool Matches(AuditQuery q, AuditEntry e)
    {
        var cursor = q.Cursor is null ? (AuditCursor?)null : AuditCursor.Decode(q.Cursor);
        var key = (Nv.Audit.Chain.AuditCanonicalEncoding.FormatTimestamp(e.Timestamp), e.Id.ToString("D"));
        return (q.DtoType is null || q.DtoType == e.DtoType) && (q.EntityId is null || q.EntityId == e.EntityId)
            && (q.UserId is null || q.UserId == e.UserId) && (q.Category is null || q.Category == e.Category)
            && (q.Operation is null || q.Operation == e.Operation) && (q.Service is null || q.Service == e.Service)
            && (q.From is null || e.Timestamp >= q.From) && (q.To is null || e.Timestamp < q.To)
            && (cursor is not { } c || (q.Ascending
                ? string.CompareOrdinal(key.Item1 + key.Item2, c.Timestamp + c.Id) > 0
                : string.CompareOrdinal(key.Item1 + key.Item2, c.Timestamp + c.Id) < 0));
    }

    // Entries over a few entities, users and categories, spread over two days.
    private async Task<List<AuditEntry>> SeedAsync()
    {
        var entries = new List<AuditEntry>();
        var categories = new[] { AuditCategory.EntityMutation, AuditCategory.Permission, AuditCategory.SystemEvents };
        for (var i = 0; i < 300; i++)
        {
            var category = categories[i % 3];
            entries.Add(Entry(
                service: i % 5 == 0 ? "billing" : "orders",
                entityId: "o-" + (i % 7),
                timestamp: T0.AddMinutes(i * 10),
                requestId: "req-" + i,
                userId: i % 4 == 0 ? null : "user-" + (i % 3 == 0 ? "alice" : "bob"),
                category: category,
                operation: category == AuditCategory.SystemEvents ? (i % 2 == 0 ? "report-exported" : "setting-changed") : "update"));
        }

        // A few under the literal user name the shapes ask for.
        for (var i = 0; i < 5; i++)
        {
            entries.Add(Entry(entityId: "o-1", timestamp: T0.AddMinutes(3 + i), requestId: "alice-" + i, userId: "alice"));
        }

        await Sink.AppendAsync(entries, Ct);
        return entries;
    }

    private List<string> Explain(AuditQuery query)
    {
        var (sql, parameters) = SqliteAuditSink.BuildQuery(query, query.Limit);
        using var raw = Raw();
        using var command = raw.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var plan = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            plan.Add(reader.GetString(3));
        }

        TestContext.Current.TestOutputHelper?.WriteLine(sql + "\n  " + string.Join("\n  ", plan));
        return plan;
    }
}
