using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Crash;

/// <summary>A custom audit event with encryption at rest on, about a subject nothing else was written for (so its data key
/// comes fresh from the pool), sent to the real <c>nv serve</c> and SIGKILLed at each point of the write path: durable but
/// not applied, applied but not audited, audited but not answered. After the restart its entry is in the trail exactly
/// once, sealed (its image opens with the master key and is in no file), also in a fresh process, which shows its key
/// survived the start's cleanup of keys no store assigned; a retry is answered from it; an erasure of its subject leaves the entry erased but
/// still named, and the trail verifies.</summary>
public sealed class SealedEventCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private const string Secret = "Cy-event-secret-6631";

    public static TheoryData<string> Points() => new("after-wal-flush", "after-db-write", "after-audit");

    [Theory]
    [MemberData(nameof(Points))]
    public async Task A_sealed_event_killed_at_each_point_is_audited_once_after_the_restart_and_erased_with_its_subject(string point)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("event-crash");
        using var keys = new TempDirectory("event-keys");
        var master = Path.Combine(keys.Path, "master.key");
        Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        var env = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["NV_MASTER_KEY_FILE"] = master };
        var context = $"[sealed event, crash at {point}]";

        using (var server = await NvServer.StartAsync(dir.Path, new Dictionary<string, string>(env) { ["NV_CRASH_AT"] = point }, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"{context} not ready\n{server.Process.Describe()}");
            try
            {
                using var answer = await PostEventAsync(server.Client, ct);
                Assert.Fail($"{context} answered {(int)answer.StatusCode} instead of dying at {point}");
            }
            catch (HttpRequestException)
            {
                // the host died before it answered
            }

            await server.Process.WaitForExitAsync(Timeout, ct);
            Assert.True(server.Process.ExitCode == NvProcess.KilledExitCode, $"{context} expected SIGKILL (137)\n{server.Process.Describe()}");
        }

        string entryId;
        using (var server = await NvServer.StartAsync(dir.Path, env, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"{context} restart not ready\n{server.Process.Describe()}");
            var entry = await SingleEntryAsync(server.Client, context, ct);
            Assert.False(entry.GetProperty("erased").GetBoolean(), $"{context} the entry does not open: {entry}");
            Assert.Equal(Secret, entry.GetProperty("after").GetProperty("note").GetString());
            entryId = entry.GetProperty("id").GetString()!;

            using (var retry = await PostEventAsync(server.Client, ct))
            {
                var body = await retry.Content.ReadAsStringAsync(ct);
                Assert.True(retry.IsSuccessStatusCode, $"{context} the retry: {(int)retry.StatusCode} {body}");
                Assert.True(retry.Headers.TryGetValues("X-Nv-Replayed", out var replayed) && replayed.Single() == "true", $"{context} the retry was not a replay: {body}");
                using var outcome = JsonDocument.Parse(body);
                Assert.Equal(entryId, outcome.RootElement.GetProperty("entryId").GetString());
            }

            AssertNowhere(dir.Path, context + " host running");
            await server.StopAsync(ct);
            Assert.True(server.Process.ExitCode == 0, $"{context} the restarted host did not stop cleanly\n{server.Process.Describe()}");
        }

        // A fresh process opens it too: the key is in the store, not only in the memory of the process that replayed it.
        var query = await NvProcess.RunAsync(dir.Path, env, Timeout, "audit", "query", "--entity", "Customer/cy", "--json");
        Assert.True(query.ExitCode == 0, $"{context} audit query failed: {query.Describe()}");
        Assert.True(query.Stdout.Any(l => l.Contains(Secret, StringComparison.Ordinal)), $"{context} a fresh process cannot open the entry: {query.Describe()}");

        var erase = await NvProcess.RunAsync(dir.Path, env, Timeout, "erase", "--dto-type", "Customer", "--entity-id", "cy", "--reason", "ticket 18", "--request-id", "erase-cy");
        Assert.True(erase.ExitCode == 0, $"{context} the erasure failed: {erase.Describe()}");
        // The WAL still holds the event: an operator sees what it was (category and operation) but not its data.
        var dump = await NvProcess.RunAsync(dir.Path, env, Timeout, "wal", "dump", "--json");
        Assert.True(dump.ExitCode == 0, $"{context} wal dump failed: {dump.Describe()}");
        var eventLine = dump.Stdout.Single(l => l.Contains("\"ev-cy\"", StringComparison.Ordinal));
        Assert.Contains("\"eventOperation\":\"role-granted\"", eventLine, StringComparison.Ordinal);
        Assert.Contains("key not available", eventLine, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, eventLine, StringComparison.Ordinal);

        var verify = await NvProcess.RunAsync(dir.Path, env, Timeout, "audit", "verify");
        Assert.True(verify.ExitCode == 0, $"{context} audit verify failed: {verify.Describe()}");
        Assert.Equal(1L, DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"),
            "SELECT count(*) FROM audit_entries WHERE request_id = 'ev-cy' AND key_id IS NOT NULL AND sealed IS NOT NULL AND after_json IS NULL"));

        using (var server = await NvServer.StartAsync(dir.Path, env, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"{context} third start not ready\n{server.Process.Describe()}");
            var entry = await SingleEntryAsync(server.Client, context, ct);
            Assert.True(entry.GetProperty("erased").GetBoolean(), $"{context} the entry still opens after the erasure: {entry}");
            Assert.Equal((entryId, "permission", "role-granted"),
                (entry.GetProperty("id").GetString(), entry.GetProperty("category").GetString(), entry.GetProperty("operation").GetString()));
            await server.StopAsync(ct);
        }

        AssertNowhere(dir.Path, context + " after the erasure");
    }

    private static async Task<HttpResponseMessage> PostEventAsync(HttpClient client, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audit/events")
        {
            Content = JsonContent.Create(new
            {
                category = "permission",
                operation = "role-granted",
                dtoType = "Customer",
                entityId = "cy",
                after = new { note = Secret },
            }),
        };
        request.Headers.Add("X-Request-Id", "ev-cy");
        request.Headers.Add("X-User-Id", "admin");
        return await client.SendAsync(request, ct);
    }

    private static async Task<JsonElement> SingleEntryAsync(HttpClient client, string context, CancellationToken ct)
    {
        using var response = await client.GetAsync(new Uri("/v1/audit/requests/ev-cy", UriKind.Relative), ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{context} {(int)response.StatusCode} {body}");
        using var page = JsonDocument.Parse(body);
        var entries = page.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.Clone()).ToList();
        Assert.True(entries.Count == 1, $"{context} {entries.Count} entries for the event: {body}");
        return entries[0];
    }

    // No file under the data directory holds the event's image, while the host runs (read beside it) and after.
    private static void AssertNowhere(string dataDir, string context)
    {
        var left = DataDirectoryScan.Holding(dataDir, Secret);
        Assert.True(left.Count == 0, $"{context}: {string.Join("; ", left)}");
    }
}
