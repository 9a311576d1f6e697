using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Host.Pipeline;
using Nv.Samples.Tests.Support;
using Nv.Wal;

namespace Nv.Samples.Tests.Orders;

/// <summary>The Orders sample's own API through <see cref="WebApplicationFactory{TEntryPoint}"/>: its domain rules, its use of
/// Nv's idempotency and optimistic concurrency, and its history from Nv's audit trail, over the real embedded stores.</summary>
public sealed class OrdersApiTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("orders-api");
    private WebApplicationFactory<Program> _factory = null!;
    private HttpClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b => b
            .UseSetting("Nv:DataDirectory", _dir.Path)
            .UseSetting("Logging:LogLevel:Default", "Warning"));
        _client = _factory.CreateClient();
        // Until boot replay has finished the sample answers 503 (Nv is not ready), as /health/ready says.
        await _factory.Services.GetRequiredService<IWritePipeline>().WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    [Fact]
    public async Task A_placed_order_is_stored_with_its_total_and_audited_with_who_placed_it()
    {
        var placed = await PlaceAsync("key-place-1", Body("c-1", ("ABC-1", 2, 9.99m), ("XYZ-22", 1, 100m)), user: "alice");

        Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        var order = await Json(placed);
        var id = order.GetProperty("id").GetString()!;
        Assert.Equal($"/orders/{id}", placed.Headers.Location!.OriginalString);
        Assert.Equal(119.98m, order.GetProperty("total").GetDecimal());
        Assert.Equal("placed", order.GetProperty("status").GetString());

        var read = await Json(await _client.GetAsync(new Uri($"/orders/{id}", UriKind.Relative), Ct));
        Assert.Equal(order.GetRawText(), read.GetRawText());

        var history = await HistoryAsync(id, expected: 1);
        var entry = history[0];
        Assert.Equal("create", entry.GetProperty("operation").GetString());
        Assert.Equal("alice", entry.GetProperty("userId").GetString());
        Assert.Equal("key-place-1", entry.GetProperty("requestId").GetString());
        Assert.Equal("order placed", entry.GetProperty("reason").GetString());
    }

    public static TheoryData<string, string> InvalidOrders() => new()
    {
        { """{"customerId":"c 1","lines":[{"sku":"ABC-1","quantity":1,"unitPrice":1}]}""", "customerId" },
        { """{"customerId":"c-1","lines":[]}""", "lines" },
        { """{"customerId":"c-1"}""", "lines" },
        { """{"customerId":"c-1","lines":[{"sku":"abc","quantity":1,"unitPrice":1}]}""", "lines[0].sku" },
        { """{"customerId":"c-1","lines":[{"sku":"ABC-1","quantity":0,"unitPrice":1}]}""", "lines[0].quantity" },
        { """{"customerId":"c-1","lines":[{"sku":"ABC-1","quantity":1001,"unitPrice":1}]}""", "lines[0].quantity" },
        { """{"customerId":"c-1","lines":[{"sku":"ABC-1","quantity":1,"unitPrice":0}]}""", "lines[0].unitPrice" },
        { """{"customerId":"c-1","lines":[{"sku":"ABC-1","quantity":1,"unitPrice":1.001}]}""", "lines[0].unitPrice" },
        { """{"customerId":"c-1","lines":[{"sku":"ABC-1","quantity":1,"unitPrice":1},{"sku":"ABC-1","quantity":2,"unitPrice":1}]}""", "lines[1].sku" },
    };

    [Theory]
    [MemberData(nameof(InvalidOrders))]
    public async Task An_invalid_order_is_refused_with_the_field_and_nothing_is_written(string body, string field)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", "key-invalid-1");
        var response = await _client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await Json(response);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
        await AssertNothingWrittenAsync();
    }

    [Fact]
    public async Task A_change_without_an_idempotency_key_is_refused_and_writes_nothing()
    {
        var response = await _client.PostAsJsonAsync("/orders", Body("c-1", ("ABC-1", 1, 1m)), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Idempotency-Key", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await AssertNothingWrittenAsync();
    }

    [Fact]
    public async Task A_retried_placement_returns_the_same_order_and_writes_once()
    {
        var first = await Json(await PlaceAsync("key-retry-1", Body("c-1", ("ABC-1", 1, 5m))));
        var retry = await PlaceAsync("key-retry-1", Body("c-1", ("ABC-1", 1, 5m)));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first.GetRawText(), (await Json(retry)).GetRawText());
        Assert.Equal(new Lsn(1), _factory.Services.GetRequiredService<IWriteAheadLog>().LastLsn);
        Assert.Single(await HistoryAsync(first.GetProperty("id").GetString()!, expected: 1));
    }

    /// <summary>Found by a review: a second placement under a used key with another body was a 500, and a cancel under
    /// the placement's key answered 200 with the order still placed (it found the placement's outcome).</summary>
    [Fact]
    public async Task A_reused_key_is_a_422_and_a_cancel_under_the_placements_key_really_cancels()
    {
        var placed = await Json(await PlaceAsync("key-reuse-0", Body("c-3", ("ABC-1", 1, 5m))));
        var id = placed.GetProperty("id").GetString()!;

        var reused = await PlaceAsync("key-reuse-0", Body("c-3", ("ABC-2", 7, 1m)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);

        var cancelled = await CancelAsync(id, "key-reuse-0", "same key, other operation");
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("cancelled", (await Json(cancelled)).GetProperty("status").GetString());
        Assert.Equal(2, (await HistoryAsync(id, expected: 2)).Count);
    }

    [Fact]
    public async Task Cancelling_records_the_reason_a_second_cancel_conflicts_and_a_retried_cancel_succeeds()
    {
        var id = (await Json(await PlaceAsync("key-cancel-0", Body("c-9", ("ABC-1", 3, 2.5m)), user: "alice"))).GetProperty("id").GetString()!;

        var cancelled = await CancelAsync(id, "key-cancel-1", "customer changed their mind", user: "bob");
        var again = await CancelAsync(id, "key-cancel-2", "twice");
        var retried = await CancelAsync(id, "key-cancel-1", "customer changed their mind", user: "bob");

        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var order = await Json(cancelled);
        Assert.Equal("cancelled", order.GetProperty("status").GetString());
        Assert.Equal("customer changed their mind", order.GetProperty("cancelReason").GetString());
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);

        var history = await HistoryAsync(id, expected: 2);
        Assert.Equal(["update", "create"], history.Select(e => e.GetProperty("operation").GetString()));
        Assert.Equal("bob", history[0].GetProperty("userId").GetString());
        Assert.Equal("customer changed their mind", history[0].GetProperty("reason").GetString());
        var status = history[0].GetProperty("changes").EnumerateArray().Single(c => c.GetProperty("path").GetString() == "/status");
        Assert.Equal("placed", status.GetProperty("before").GetString());
        Assert.Equal("cancelled", status.GetProperty("after").GetString());
        Assert.Equal(new Lsn(2), _factory.Services.GetRequiredService<IWriteAheadLog>().LastLsn); // the refused and retried cancels wrote nothing
    }

    [Fact]
    public async Task Unknown_orders_are_not_found()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(new Uri("/orders/ord-0000000000000000000f", UriKind.Relative), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(new Uri("/orders/..%2Fetc", UriKind.Relative), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await CancelAsync("ord-0000000000000000000f", "key-cancel-x", "why")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(new Uri("/orders/ord-0000000000000000000f/history", UriKind.Relative), Ct)).StatusCode);
    }

    [Fact]
    public async Task The_health_probes_answer_from_Nvs_checks()
    {
        await _factory.Services.GetRequiredService<IWritePipeline>().WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal("Healthy", await _client.GetStringAsync(new Uri("/health/ready", UriKind.Relative), Ct));
        Assert.Equal("Healthy", await _client.GetStringAsync(new Uri("/health/live", UriKind.Relative), Ct));
    }

    private async Task AssertNothingWrittenAsync()
    {
        var nv = _factory.Services.GetRequiredService<IWritePipeline>();
        await nv.WhenReadyAsync(Ct);
        Assert.Equal(Lsn.None, _factory.Services.GetRequiredService<IWriteAheadLog>().LastLsn);
        Assert.Empty((await nv.QueryAuditAsync(new AuditQuery { DtoType = "Order" }, Ct)).Entries);
    }

    private async Task<HttpResponseMessage> PlaceAsync(string key, object body, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        if (user is not null)
        {
            request.Headers.Add("X-User", user);
        }

        return await _client.SendAsync(request, Ct);
    }

    private async Task<HttpResponseMessage> CancelAsync(string id, string key, string reason, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/orders/{id}/cancel") { Content = JsonContent.Create(new { reason }) };
        request.Headers.Add("Idempotency-Key", key);
        if (user is not null)
        {
            request.Headers.Add("X-User", user);
        }

        return await _client.SendAsync(request, Ct);
    }

    // The audit entry follows the write off the caller's path (the sample answers at AckLevel.Applied): wait for it.
    private async Task<IReadOnlyList<JsonElement>> HistoryAsync(string id, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var response = await _client.GetAsync(new Uri($"/orders/{id}/history", UriKind.Relative), Ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var changes = (await Json(response)).GetProperty("changes").EnumerateArray().ToList();
                if (changes.Count >= expected || DateTime.UtcNow > deadline)
                {
                    return changes;
                }
            }
            else if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"history of {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
            }

            await Task.Delay(20, Ct);
        }
    }

    private static object Body(string customerId, params (string Sku, int Quantity, decimal UnitPrice)[] lines) =>
        new { customerId, lines = lines.Select(l => new { sku = l.Sku, quantity = l.Quantity, unitPrice = l.UnitPrice }) };

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        var wal = _factory.Services.GetRequiredService<IWriteAheadLog>();
        await _factory.DisposeAsync();

        // WebApplicationFactory disposes a minimal-hosting app twice at once (its own call, and the app's Run returning on the
        // entry-point thread); the service provider lets the second call return at once, so the factory's call can return while
        // the other thread is still closing the WAL (its close commit then wrote into a directory being deleted: "Directory not
        // empty", 2 runs in 6). Wait until that close has started, then for it to end (every DisposeAsync awaits the one close).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (wal.State != WalState.Disposed && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5, CancellationToken.None);
        }

        await wal.DisposeAsync();
        _dir.Dispose();
    }
}
