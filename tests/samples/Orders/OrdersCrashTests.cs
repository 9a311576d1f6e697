using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Nv.Samples.Tests.Support;

namespace Nv.Samples.Tests.Orders;

/// <summary>The Orders sample as a real process, killed with SIGKILL while 16 clients place and cancel orders (by the test,
/// or by Nv's own crash points through <c>NV_CRASH_AT</c>), then restarted: every order and cancellation it acknowledged
/// is there, each with exactly one audit entry carrying its idempotency key.</summary>
/// <remarks>Seeded: a failure prints its seed; <c>NV_TEST_SEED</c> pins it.</remarks>
public sealed class OrdersCrashTests
{
    private const int Clients = 16;

    public static TheoryData<string> Kills() => ["sigkill", "after-wal-flush", "after-db-write", "after-audit"];

    [Theory]
    [MemberData(nameof(Kills))]
    public async Task A_sample_killed_under_load_keeps_every_acknowledged_order_and_its_audit_entry(string kill)
    {
        var ct = TestContext.Current.CancellationToken;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("NV_TEST_SEED"), out var pinned) ? pinned : Random.Shared.Next(1, 100_000);
        var random = new Random(seed);
        var context = $"[{kill}, seed {seed}; pin with NV_TEST_SEED={seed}]";
        using var dir = new TempDirectory("orders-crash");
        var env = kill == "sigkill" ? null : new Dictionary<string, string> { ["NV_CRASH_AT"] = $"{kill}:{random.Next(15, 40)}" };
        var killAfter = random.Next(150, 400);

        var placed = new ConcurrentDictionary<string, string>(); // idempotency key -> order id, acknowledged (201)
        var cancelled = new ConcurrentDictionary<string, string>(); // cancel key -> order id, acknowledged (200)
        await using (var sample = await OrdersProcess.StartAsync(RepoPaths.OrdersDll, dir.Path, env))
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                var rng = new Random(seed + c);
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        var key = $"s{seed}-c{c}-o{i}";
                        using var response = await SendAsync(sample.Client, HttpMethod.Post, "/orders", key, Order(rng), stop.Token);
                        if (response.StatusCode != HttpStatusCode.Created)
                        {
                            continue;
                        }

                        var id = (await response.Content.ReadFromJsonAsync<JsonElement>(stop.Token)).GetProperty("id").GetString()!;
                        placed[key] = id;
                        if (rng.Next(3) == 0)
                        {
                            var cancelKey = key + "-x";
                            using var cancel = await SendAsync(sample.Client, HttpMethod.Post, $"/orders/{id}/cancel", cancelKey, new { reason = "smoke " + i }, stop.Token);
                            if (cancel.StatusCode == HttpStatusCode.OK)
                            {
                                cancelled[cancelKey] = id;
                            }
                        }
                    }
                    // A host killed mid-connect can also surface as a bare SocketException ("Transport endpoint is not connected",
                    // from the connection's remote end point), not wrapped in an HttpRequestException.
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or System.Net.Sockets.SocketException)
                    {
                        if (sample.HasExited)
                        {
                            return; // killed: whatever was not answered was not acknowledged
                        }
                    }
                }
            }, CancellationToken.None)).ToList();

            if (kill == "sigkill")
            {
                while (placed.Count < killAfter && !stop.IsCancellationRequested && !sample.HasExited)
                {
                    await Task.Delay(5, CancellationToken.None);
                }

                sample.Kill(); // SIGKILL under load
            }

            await sample.WaitForExitAsync(stop.Token);
            await stop.CancelAsync();
            await Task.WhenAll(clients);
            Assert.True(sample.ExitCode == 137, $"{context} expected the sample to die of SIGKILL (137), got {sample.ExitCode}:\n{sample.Tail}");
        }

        Assert.False(placed.IsEmpty, $"{context} no order was acknowledged before the kill");
        TestContext.Current.TestOutputHelper?.WriteLine($"{context} acknowledged before the kill: {placed.Count} orders, {cancelled.Count} cancellations");

        // Restart on the same data directory: boot replay applies and audits whatever the crash left behind before the
        // sample reports ready.
        await using var restarted = await OrdersProcess.StartAsync(RepoPaths.OrdersDll, dir.Path);
        var cancelledIds = cancelled.Values.ToHashSet();
        foreach (var (key, id) in placed)
        {
            using var read = await restarted.Client.GetAsync(new Uri($"/orders/{id}", UriKind.Relative), ct);
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"{context} acknowledged order {id} (key {key}) is lost: {(int)read.StatusCode}");
            var order = await read.Content.ReadFromJsonAsync<JsonElement>(ct);
            if (cancelledIds.Contains(id))
            {
                Assert.True(order.GetProperty("status").GetString() == "cancelled", $"{context} acknowledged cancellation of {id} is lost");
            }

            var history = await restarted.Client.GetFromJsonAsync<JsonElement>(new Uri($"/orders/{id}/history", UriKind.Relative), ct);
            var keys = history.GetProperty("changes").EnumerateArray().Select(e => e.GetProperty("requestId").GetString()).ToList();
            Assert.True(keys.Count(k => k == key) == 1, $"{context} order {id}: expected one audit entry for key {key}, got [{string.Join(", ", keys)}]");
        }

        foreach (var (cancelKey, id) in cancelled)
        {
            var history = await restarted.Client.GetFromJsonAsync<JsonElement>(new Uri($"/orders/{id}/history", UriKind.Relative), ct);
            var keys = history.GetProperty("changes").EnumerateArray().Select(e => e.GetProperty("requestId").GetString()).ToList();
            // The sample scopes a cancellation's Nv request id to its operation (cancel:<key>).
            Assert.True(keys.Count(k => k == "cancel:" + cancelKey) == 1, $"{context} order {id}: expected one audit entry for cancel key {cancelKey}, got [{string.Join(", ", keys)}]");
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string key, object body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        request.Headers.Add("X-User", "smoke");
        return await client.SendAsync(request, cancellationToken);
    }

    private static object Order(Random rng) => new
    {
        customerId = "c-" + rng.Next(100),
        lines = Enumerable.Range(0, rng.Next(1, 4)).Select(l => new { sku = $"SKU-{l}{rng.Next(1000)}", quantity = rng.Next(1, 10), unitPrice = rng.Next(100, 10_000) / 100m }),
    };
}
