using System.Text.Json;
using Nv.Audit;
using Nv.Audit.InMemory;
using Nv.Audit.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Wal;

namespace Nv.Unit.Tests.Audit;

/// <summary><see cref="AuditQuery.MaxBytes"/> on the in-memory store and on the MongoDB store (over the fake server): a
/// page ends before the entry that would take it past the budget, holds at least one entry however large, and a cursor
/// walk returns every entry exactly once, in order. The SQLite store's are in the integration tests
/// (SqliteAuditQueryTests).</summary>
public sealed class AuditPageBudgetTests
{
    private const long Budget = 64 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>40 entries of 2 KB to 40 KB, and one of 100 KB (larger than the budget by itself).</summary>
    internal static List<AuditEntry> LargeEntries()
    {
        var entries = new List<AuditEntry>();
        for (var i = 0; i < 41; i++)
        {
            var bytes = i == 17 ? 100_000 : 2_000 + i * 37 % 41 * 1_000;
            var after = JsonDocument.Parse(JsonSerializer.Serialize(new { blob = new string((char)('a' + i % 26), bytes) })).RootElement.Clone();
            entries.Add(new AuditEntry
            {
                Id = Guid.CreateVersion7(T0.AddSeconds(i / 3)),
                Timestamp = T0.AddSeconds(i / 3), // several entries share a timestamp: the id orders them
                Service = "orders",
                Category = AuditCategory.EntityMutation,
                Operation = "create",
                DtoType = "Big",
                EntityId = "b-" + i,
                After = after,
                Changes = [new FieldChange("/blob", null, after.GetProperty("blob"))],
                RequestId = "req-" + i,
                Lsn = new Lsn(i + 1),
            });
        }

        return entries;
    }

    /// <summary>Walks every page of <paramref name="sink"/> under the budget and checks each; returns the ids in order.</summary>
    internal static async Task<List<Guid>> WalkAsync(IAuditSink sink, bool ascending, CancellationToken cancellationToken)
    {
        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await sink.QueryAsync(new AuditQuery { DtoType = "Big", Limit = 1000, Cursor = cursor, Ascending = ascending, MaxBytes = Budget },
                cancellationToken);
            Assert.NotEmpty(page.Entries);
            var bytes = page.Entries.Sum(AuditEntrySize.Of);
            Assert.True(page.Entries.Count == 1 || bytes <= Budget, $"page {pages}: {page.Entries.Count} entries, {bytes} bytes over {Budget}");
            seen.AddRange(page.Entries.Select(e => e.Id));
            cursor = page.NextCursor;
            Assert.True(++pages <= 41, "pagination does not terminate");
        }
        while (cursor is not null);

        Assert.True(pages > 10, $"{pages} pages: the budget did not end pages early");
        return seen;
    }

    internal static List<Guid> Expected(List<AuditEntry> entries, bool ascending)
    {
        var expected = entries.OrderBy(e => e.Timestamp).ThenBy(e => e.Id.ToString("D"), StringComparer.Ordinal).Select(e => e.Id).ToList();
        if (!ascending)
        {
            expected.Reverse();
        }

        return expected;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_in_memory_store_ends_pages_at_the_budget_and_the_walk_returns_every_entry_once(bool ascending)
    {
        var entries = LargeEntries();
        await using var sink = new InMemoryAuditSink();
        await sink.AppendAsync(entries, Ct);

        Assert.Equal(Expected(entries, ascending), await WalkAsync(sink, ascending, Ct));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_mongodb_store_ends_pages_at_the_budget_and_the_walk_returns_every_entry_once(bool ascending)
    {
        var entries = LargeEntries();
        var server = new FakeMongoServer();
        await using var sink = new MongoAuditSink(new AuditOptions { MongoUri = "mongodb://fake/", MongoDatabase = "nv_audit" }, server.Database("nv_audit"));
        await sink.AppendAsync(entries, Ct);

        Assert.Equal(Expected(entries, ascending), await WalkAsync(sink, ascending, Ct));
    }

    [Fact]
    public async Task Without_a_budget_a_page_is_bounded_by_its_limit_only()
    {
        var entries = LargeEntries();
        await using var sink = new InMemoryAuditSink();
        await sink.AppendAsync(entries, Ct);

        var page = await sink.QueryAsync(new AuditQuery { DtoType = "Big", Limit = 1000 }, Ct);

        Assert.Equal(41, page.Entries.Count);
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public void An_entrys_size_counts_its_images_changes_text_and_metadata()
    {
        var small = LargeEntries()[0];
        var size = AuditEntrySize.Of(small);
        var blob = small.After!.Value.GetProperty("blob").GetString()!.Length;

        Assert.InRange(size, AuditEntrySize.Fixed + 2 * blob, AuditEntrySize.Fixed + 2 * blob + 200);
        Assert.Equal(size + AuditEntrySize.PerItem + 6, AuditEntrySize.Of(small with { Metadata = new Dictionary<string, string> { ["ab"] = "cdef" } }));
        Assert.Equal(size - (blob + 11), AuditEntrySize.Of(small with { After = null }));
    }
}
