using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;

namespace Nv.Integration.Tests.Http;

/// <summary>What one audit reader can hold: a page ends at <c>Nv:Http:MaxAuditPageBytes</c> (its <c>nextCursor</c>
/// continues right after, so a cursor walk still returns every entry once), and audit queries and chain verifications
/// beyond <c>Nv:Http:MaxConcurrentAuditQueries</c> / <c>MaxConcurrentAuditVerifications</c> are answered 503
/// <c>audit-busy</c> with <c>Retry-After</c> instead of running.</summary>
public sealed class AuditReadLimitsApiTests
{
    private const int Budget = 64 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Blob(int i, int bytes) => JsonSerializer.Serialize(new { blob = new string((char)('a' + i % 26), bytes) });

    // Walks a list through its cursors; checks each page's size; returns the entries' ids in order.
    private static async Task<List<string>> WalkAsync(NvTestApp app, string path)
    {
        var ids = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var response = await app.SendAsync(HttpMethod.Get, path + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            using var page = JsonDocument.Parse(text);
            var entries = page.RootElement.GetProperty("entries");
            Assert.True(entries.GetArrayLength() >= 1, "an empty page before the end");
            // The page's JSON: the entries' estimated size plus the page's own few bytes.
            Assert.True(entries.GetArrayLength() == 1 || text.Length <= Budget + 512,
                $"page {pages}: {entries.GetArrayLength()} entries in {text.Length} bytes, budget {Budget}");
            ids.AddRange(entries.EnumerateArray().Select(e => e.GetProperty("id").GetString()!));
            cursor = page.RootElement.GetProperty("nextCursor").GetString();
            Assert.True(++pages <= 100, "pagination does not terminate");
        }
        while (cursor is not null);

        return ids;
    }

    [Fact]
    public async Task Pages_of_large_entries_end_at_the_byte_budget_and_the_cursor_walk_returns_each_entry_once()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Http:MaxAuditPageBytes=" + Budget);
        var written = new List<string>();
        for (var i = 0; i < 24; i++)
        {
            var requestId = NvTestApp.NewRequestId();
            Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Big", "b-" + i, Blob(i, i == 9 ? 100_000 : 4_000 + i * 1_000), requestId)).StatusCode);
            written.Add(requestId);
        }

        var search = await WalkAsync(app, "/v1/audit/entries?dtoType=Big&limit=1000&order=asc");
        Assert.Equal(24, search.Count);
        Assert.Equal(24, search.Distinct().Count());
        var byRequest = new List<string>();
        foreach (var requestId in written)
        {
            var entry = (await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/requests/{requestId}"))).GetProperty("entries")[0];
            byRequest.Add(entry.GetProperty("id").GetString()!);
        }

        Assert.Equal(byRequest, search); // every entry, in the order written, none twice
        Assert.True(search.Count > (await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, "/v1/audit/entries?dtoType=Big&limit=1000")))
            .GetProperty("entries").GetArrayLength(), "one page held every entry");

        // One request's many entries (a batch of 12 items of 20 KB), as the explorer's request view reads them.
        var batchId = NvTestApp.NewRequestId();
        var items = string.Join(',', Enumerable.Range(0, 12).Select(i =>
            $$"""{"op":"create","dtoType":"Big","entityId":"batch-{{i}}","payload":{{Blob(i, 20_000)}}}"""));
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(HttpMethod.Post, "/v1/batch", "{\"items\":[" + items + "]}", batchId)).StatusCode);
        var batch = await WalkAsync(app, $"/v1/audit/requests/{batchId}?limit=1000");
        Assert.Equal(12, batch.Count);
        Assert.Equal(12, batch.Distinct().Count());
    }

    [Fact]
    public async Task Queries_and_verifications_beyond_their_limits_are_503_audit_busy_and_their_slots_come_back()
    {
        var queryEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var verifyEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await NvTestApp.StartAsync(null, builder =>
        {
            ServiceProxy<IAuditSink>.Install(builder.Services, new()
            {
                // Queries of type Gate, and every verification, wait until the test lets them go.
                [nameof(IAuditSink.QueryAsync)] = (sink, a) => a[0] is AuditQuery { DtoType: "Gate" } gated
                    ? GatedAsync(queryEntered, release, () => sink.QueryAsync(gated, (CancellationToken)a[1]!))
                    : sink.QueryAsync((AuditQuery)a[0]!, (CancellationToken)a[1]!),
                [nameof(IAuditSink.VerifyAsync)] = (sink, a) => GatedAsync(verifyEntered, release, () => sink.VerifyAsync((CancellationToken)a[0]!)),
            });
            builder.Services.AddSingleton(sp => (IAuditProofs)((ServiceProxy<IAuditSink>)(object)sp.GetRequiredService<IAuditSink>()).Inner);
        }, "--Nv:Http:MaxConcurrentAuditQueries=1", "--Nv:Http:MaxConcurrentAuditVerifications=1");

        var running = app.SendAsync(HttpMethod.Get, "/v1/audit/entities/Gate/g-1/history");
        await queryEntered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var verifying = app.SendAsync(HttpMethod.Get, "/v1/audit/verify");
        await verifyEntered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        foreach (var (path, retryAfter) in new[]
        {
            ("/v1/audit/entries", 1), ("/v1/audit/entities/Other/o-1/history", 1), ("/v1/audit/entities/Other/o-1/as-of?at=2030-01-01T00:00:00Z", 1),
            ("/v1/audit/verify", 5),
        })
        {
            var busy = await app.SendAsync(HttpMethod.Get, path).WaitAsync(TimeSpan.FromSeconds(10), Ct);
            await NvTestApp.AssertProblemAsync(busy, 503, "audit-busy");
            Assert.Equal(TimeSpan.FromSeconds(retryAfter), busy.Headers.RetryAfter?.Delta);
        }

        // A single entry is not a query: it is answered while the slots are taken.
        await NvTestApp.AssertProblemAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{Guid.NewGuid()}"), 404, "not-found");

        release.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await verifying).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(HttpMethod.Get, "/v1/audit/entries")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(HttpMethod.Get, "/v1/audit/verify")).StatusCode);
    }

    private static async Task<T> GatedAsync<T>(TaskCompletionSource entered, TaskCompletionSource release, Func<Task<T>> run)
    {
        entered.TrySetResult();
        await release.Task;
        return await run();
    }
}
