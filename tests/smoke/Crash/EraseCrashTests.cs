using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Crash;

/// <summary>An erasure (<c>nv erase</c>, encryption at rest on) SIGKILLed at each step: the erase record appended but not
/// flushed, durable but not applied, applied (keys destroyed, entities deleted) but not audited, audited but not answered,
/// durable in both stores but the entity store not yet scrubbed. Every case converges: a restart finishes what was durable
/// (replay, audit backfill, scrub), a retry with the same request id completes the erasure exactly once, and afterwards
/// the subject's keys are gone, its entity is deleted, one data-erasure entry is in the trail, the trail verifies, the
/// other subject is untouched and no byte of the erased payloads is left in any file under the data directory.</summary>
public sealed class EraseCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private const string AdaSecret = "Hilda-Whitcher-smoke-5521";
    private const string AdaSecret2 = "Hilda-Whitcher-smoke-5522";

    public static TheoryData<string> Points() => new("after-wal-append", "after-wal-flush", "after-db-write", "after-audit", "erase-before-scrub");

    [Theory]
    [MemberData(nameof(Points))]
    public async Task A_crash_at_each_step_of_an_erasure_converges_on_restart_and_retry(string point)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("erase-crash");
        using var keys = new TempDirectory("erase-keys");
        var master = Path.Combine(keys.Path, "master.key");
        Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        var env = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["NV_MASTER_KEY_FILE"] = master };
        var context = $"[erase crash at {point}]";

        using (var server = await NvServer.StartAsync(dir.Path, env, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"{context} not ready\n{server.Process.Describe()}");
            await SendAsync(server.Client, HttpMethod.Post, "ada", new { name = AdaSecret, n = 1 }, "w1", ct);
            await SendAsync(server.Client, HttpMethod.Put, "ada", new { name = AdaSecret2, n = 2 }, "w2", ct);
            await SendAsync(server.Client, HttpMethod.Post, "bob", new { name = "Bob-Visible-7007" }, "w3", ct);
            await server.StopAsync(ct);
            Assert.True(server.Process.ExitCode == 0, $"{context} the setup run did not stop cleanly\n{server.Process.Describe()}");
        }

        string[] erase = ["erase", "--dto-type", "Customer", "--entity-id", "ada", "--reason", "ticket 17", "--request-id", "erase-ada"];
        var crashed = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string>(env) { ["NV_CRASH_AT"] = point }, Timeout, erase);
        Assert.True(crashed.ExitCode == NvProcess.KilledExitCode, $"{context} expected SIGKILL (137), got {crashed.Describe()}");

        if (point == "after-wal-append")
        {
            // The erase record may or may not have reached the disk: the retry below settles it either way.
            var replay = await NvProcess.RunAsync(dir.Path, env, Timeout, "replay", "--json");
            Assert.True(replay.ExitCode == 0, $"{context} restart failed: {replay.Describe()}");
        }
        else
        {
            // The erase record was durable: the restart alone finishes the erasure (applied, audited, scrubbed at start),
            // checked while the restarted host runs (a clean stop would empty SQLite's WAL files anyway).
            using var server = await NvServer.StartAsync(dir.Path, env, null, ct);
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"{context} restart not ready\n{server.Process.Describe()}");
            AssertErased(dir.Path, context + " after the restart, host running");
            using (var read = await server.Client.GetAsync(new Uri("/v1/entities/Customer/ada", UriKind.Relative), ct))
            {
                Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
            }

            await server.StopAsync(ct);
            Assert.True(server.Process.ExitCode == 0, $"{context} the restarted host did not stop cleanly\n{server.Process.Describe()}");
        }

        var retry = await NvProcess.RunAsync(dir.Path, env, Timeout, erase);
        Assert.True(retry.ExitCode == 0, $"{context} the retry failed: {retry.Describe()}");
        // What the erasure destroyed, as recorded by the attempt that applied it (before the crash, at the restart's
        // replay, or by this retry): one key, one entity, whichever it was.
        var answer = Assert.Single(retry.Stdout, l => l.StartsWith("erased Customer/ada: applied", StringComparison.Ordinal));
        Assert.True(answer.Contains(", 1 data key destroyed, 1 entity deleted (request erase-ada", StringComparison.Ordinal), $"{context} {answer}");
        AssertErased(dir.Path, context + " after the retry");

        var again = await NvProcess.RunAsync(dir.Path, env, Timeout, "replay", "--json");
        using (var summary = JsonDocument.Parse(again.Stdout.Last(l => l.StartsWith('{'))))
        {
            Assert.True(again.ExitCode == 0 && summary.RootElement.GetProperty("replayed").GetInt64() == 0, $"{context} a second restart replayed: {again.Describe()}");
        }

        var verify = await NvProcess.RunAsync(dir.Path, env, Timeout, "audit", "verify");
        Assert.True(verify.ExitCode == 0, $"{context} audit verify failed: {verify.Describe()}");
        var stat = await NvProcess.RunAsync(dir.Path, env, Timeout, "keys", "stat", "--json");
        Assert.True(stat.ExitCode == 0, $"{context} keys stat failed: {stat.Describe()}");
        using (var stats = JsonDocument.Parse(string.Join('\n', stat.Stdout)))
        {
            Assert.Equal(1, stats.RootElement.GetProperty("erasures").GetInt64());
            Assert.Equal(1, stats.RootElement.GetProperty("subjects").GetInt64()); // bob's
        }

        Assert.Equal(1L, DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"), "SELECT count(*) FROM audit_entries WHERE category = 'data-erasure'"));
        Assert.Equal(2L, DataDirectoryScan.Scalar(Path.Combine(dir.Path, "audit.db"),
            "SELECT count(*) FROM audit_entries WHERE entity_id = 'ada' AND category = 'entity-mutation' AND key_id IS NOT NULL AND before_json IS NULL AND after_json IS NULL"));
        if (Nv.Smoke.Tests.Verify.PythonVerifier.Missing is null)
        {
            Assert.StartsWith("OK", Nv.Smoke.Tests.Verify.PythonVerifier.Verify(dir.Path).Verdict, StringComparison.Ordinal);
        }
    }

    private static async Task SendAsync(HttpClient client, HttpMethod method, string id, object body, string requestId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, $"/v1/entities/Customer/{id}") { Content = JsonContent.Create(body) };
        request.Headers.Add("X-Request-Id", requestId);
        request.Headers.TryAddWithoutValidation("Prefer", "nv-ack=audited");
        using var response = await client.SendAsync(request, ct);
        Assert.True(response.IsSuccessStatusCode, $"{method} {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    private static void AssertErased(string dataDir, string context)
    {
        var db = Path.Combine(dataDir, "nv.db");
        Assert.True(DataDirectoryScan.Scalar(db, "SELECT count(*) FROM _nv_erasures") is 1L, $"{context}: no erasure recorded");
        Assert.True(DataDirectoryScan.Scalar(db, "SELECT count(*) FROM Customer WHERE _nv_deleted = 0 AND id = 'ada'") is 0L, $"{context}: ada is still live");
        Assert.True(DataDirectoryScan.Scalar(db, "SELECT count(*) FROM Customer WHERE _nv_deleted = 0 AND id = 'bob'") is 1L, $"{context}: bob is gone");
        var left = DataDirectoryScan.Holding(dataDir, AdaSecret, AdaSecret2);
        Assert.True(left.Count == 0, $"{context}: {string.Join("; ", left)}");
    }
}
