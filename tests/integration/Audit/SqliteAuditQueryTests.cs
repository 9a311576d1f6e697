using Nv.Audit;

namespace Nv.Integration.Tests.Audit;

public sealed class SqliteAuditQueryTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly DateTimeOffset T0 = new(2025, 2, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task<List<AuditEntry>> SeedAsync()
    {
        var entries = new List<AuditEntry>
        {
            Entry("orders", "o-1", T0.AddMinutes(1), "req-a", "alice", "Order"),
            Entry("orders", "o-1", T0.AddMinutes(2), "req-b", "bob", "Order", operation: "delete"),
            Entry("orders", "o-2", T0.AddMinutes(3), "req-b", "alice", "Order"),
            Entry("billing", "o-1", T0.AddMinutes(4), "req-c", null, "Invoice", operation: "create"),
            Entry("billing", "i-9", T0.AddMinutes(5), "req-d", "carol", "Invoice", AuditCategory.Permission, "permission-denied"),
            Entry("orders", "orders", T0.AddMinutes(6), "req-e", null, "Order", AuditCategory.ServiceStartStop, "service-start"),
        };
        await Sink.AppendAsync(entries, Ct);
        return entries;
    }

    private async Task<List<int>> IndexesAsync(List<AuditEntry> seeded, AuditQuery query)
    {
        var page = await Sink.QueryAsync(query, Ct);
        return page.Entries.Select(e => seeded.FindIndex(s => s.Id == e.Id)).ToList();
    }

    [Fact]
    public async Task Each_filter_matches_only_its_entries()
    {
        var s = await SeedAsync();
        Assert.Equal([1, 2], await IndexesAsync(s, new AuditQuery { RequestId = "req-b", Ascending = true }));
        Assert.Equal([0, 1, 3], await IndexesAsync(s, new AuditQuery { EntityId = "o-1", Ascending = true }));
        Assert.Equal([0, 1], await IndexesAsync(s, new AuditQuery { EntityId = "o-1", DtoType = "Order", Ascending = true }));
        Assert.Equal([3, 4], await IndexesAsync(s, new AuditQuery { DtoType = "Invoice", Ascending = true }));
        Assert.Equal([0, 2], await IndexesAsync(s, new AuditQuery { UserId = "alice", Ascending = true }));
        Assert.Equal([3, 4], await IndexesAsync(s, new AuditQuery { Service = "billing", Ascending = true }));
        Assert.Equal([4], await IndexesAsync(s, new AuditQuery { Category = AuditCategory.Permission }));
        Assert.Equal([5], await IndexesAsync(s, new AuditQuery { Category = AuditCategory.ServiceStartStop }));
        Assert.Equal([1], await IndexesAsync(s, new AuditQuery { Operation = "delete" }));
        Assert.Equal([2], await IndexesAsync(s, new AuditQuery { Service = "orders", UserId = "alice", RequestId = "req-b" }));
        Assert.Empty(await IndexesAsync(s, new AuditQuery { RequestId = "nope" }));
    }

    [Fact]
    public async Task Default_order_is_newest_first()
    {
        var s = await SeedAsync();
        Assert.Equal([5, 4, 3, 2, 1, 0], await IndexesAsync(s, new AuditQuery()));
        Assert.Equal([0, 1, 2, 3, 4, 5], await IndexesAsync(s, new AuditQuery { Ascending = true }));
    }

    [Fact]
    public async Task Time_range_includes_from_and_excludes_to()
    {
        var s = await SeedAsync();
        Assert.Equal([1, 2, 3], await IndexesAsync(s, new AuditQuery { From = T0.AddMinutes(2), To = T0.AddMinutes(5), Ascending = true }));
        Assert.Equal([4, 5], await IndexesAsync(s, new AuditQuery { From = T0.AddMinutes(5), Ascending = true }));
        Assert.Equal([0], await IndexesAsync(s, new AuditQuery { To = T0.AddMinutes(2) }));
        // The same instant in another offset.
        Assert.Equal([1, 2, 3], await IndexesAsync(s, new AuditQuery { From = T0.AddMinutes(2).ToOffset(TimeSpan.FromHours(-7)), To = T0.AddMinutes(5), Ascending = true }));
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 7)]
    [InlineData(true, 50)]
    [InlineData(false, 1000)]
    public async Task Pagination_walks_every_entry_exactly_once(bool ascending, int limit)
    {
        var entries = new List<AuditEntry>();
        for (var i = 0; i < 120; i++)
        {
            // Several entries share each timestamp, so the id breaks ties.
            entries.Add(Entry(i % 3 == 0 ? "billing" : "orders", timestamp: T0.AddSeconds(i / 4)));
        }

        await Sink.AppendAsync(entries, Ct);
        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Sink.QueryAsync(new AuditQuery { Limit = limit, Cursor = cursor, Ascending = ascending }, Ct);
            Assert.True(page.Entries.Count <= limit);
            seen.AddRange(page.Entries.Select(e => e.Id));
            cursor = page.NextCursor;
            Assert.True(++pages <= 121, "pagination does not terminate");
        }
        while (cursor is not null);

        Assert.Equal(120, seen.Count);
        Assert.Equal(120, seen.Distinct().Count());
        var expected = entries.OrderBy(e => e.Timestamp).ThenBy(e => e.Id.ToString("D"), StringComparer.Ordinal).Select(e => e.Id).ToList();
        if (!ascending)
        {
            expected.Reverse();
        }

        Assert.Equal(expected, seen);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_byte_budget_ends_pages_early_and_the_cursor_walk_still_returns_every_entry_once(bool ascending)
    {
        // 40 entries of 2-40 KB and one of 100 KB, against a 64 KiB budget: pages end early, the large one is a page alone.
        const long budget = 64 * 1024;
        var entries = new List<AuditEntry>();
        for (var i = 0; i < 41; i++)
        {
            var blob = new string((char)('a' + i % 26), i == 17 ? 100_000 : 2_000 + i * 37 % 41 * 1_000);
            var after = Json(System.Text.Json.JsonSerializer.Serialize(new { blob }));
            entries.Add(Entry(entityId: "b-" + i, timestamp: T0.AddSeconds(i / 3), dtoType: "Big") with
            {
                Before = null,
                After = after,
                Changes = [new FieldChange("/blob", null, after.GetProperty("blob"))],
            });
        }

        await Sink.AppendAsync(entries, Ct);
        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Sink.QueryAsync(new AuditQuery { DtoType = "Big", Limit = 1000, Cursor = cursor, Ascending = ascending, MaxBytes = budget }, Ct);
            var bytes = page.Entries.Sum(AuditEntrySize.Of);
            Assert.True(page.Entries.Count == 1 || bytes <= budget, $"page {pages}: {page.Entries.Count} entries, {bytes} bytes over {budget}");
            Assert.NotEmpty(page.Entries);
            seen.AddRange(page.Entries.Select(e => e.Id));
            cursor = page.NextCursor;
            Assert.True(++pages <= 41, "pagination does not terminate");
        }
        while (cursor is not null);

        Assert.True(pages > 10, $"{pages} pages: the budget did not end pages early");
        var expected = entries.OrderBy(e => e.Timestamp).ThenBy(e => e.Id.ToString("D"), StringComparer.Ordinal).Select(e => e.Id).ToList();
        if (!ascending)
        {
            expected.Reverse();
        }

        Assert.Equal(expected, seen);
        Assert.Contains(entries[17].Id, seen);
    }

    [Fact]
    public async Task Pagination_with_a_filter_stays_within_the_filter()
    {
        var entries = Enumerable.Range(0, 30).Select(i => Entry(i % 2 == 0 ? "a" : "b", timestamp: T0.AddSeconds(i))).ToList();
        await Sink.AppendAsync(entries, Ct);
        var page1 = await Sink.QueryAsync(new AuditQuery { Service = "a", Limit = 10 }, Ct);
        var page2 = await Sink.QueryAsync(new AuditQuery { Service = "a", Limit = 10, Cursor = page1.NextCursor }, Ct);
        Assert.Equal(10, page1.Entries.Count);
        Assert.Equal(5, page2.Entries.Count);
        Assert.Null(page2.NextCursor);
        Assert.All(page1.Entries.Concat(page2.Entries), e => Assert.Equal("a", e.Service));
    }

    [Fact]
    public async Task Exactly_full_last_page_has_no_next_cursor()
    {
        await Sink.AppendAsync(Entries(10), Ct);
        var page = await Sink.QueryAsync(new AuditQuery { Limit = 10 }, Ct);
        Assert.Equal(10, page.Entries.Count);
        Assert.Null(page.NextCursor);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(5000, 1000)]
    public async Task Limit_is_clamped(int limit, int expected)
    {
        await Sink.AppendAsync(Enumerable.Range(0, 1001).Select(i => Entry(timestamp: T0.AddTicks(i))).ToList(), Ct);
        var page = await Sink.QueryAsync(new AuditQuery { Limit = limit }, Ct);
        Assert.Equal(expected, page.Entries.Count);
        Assert.NotNull(page.NextCursor);
    }

    [Theory]
    [InlineData("not a cursor!")]
    [InlineData("djJ8eHx5")]
    public async Task Malformed_cursor_is_an_argument_error(string cursor)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Sink.QueryAsync(new AuditQuery { Cursor = cursor }, Ct));
    }
}
