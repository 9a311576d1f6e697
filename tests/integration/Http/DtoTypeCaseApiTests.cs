using System.Net;
using Microsoft.Data.Sqlite;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Http;

/// <summary>dtoTypes that differ only in case on the embedded SQLite store (its table names are case-insensitive).</summary>
/// <remarks>Such a write used to reach the WAL and throw at apply: the pipeline faulted (every later write failed), and
/// boot replay retried the record for ever, so the host never became ready again.</remarks>
public sealed class DtoTypeCaseApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Another_spelling_of_a_stored_type_is_a_400_before_the_wal_and_the_service_keeps_serving()
    {
        await using var app = await NvTestApp.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Order", "o1", """{"n":1}""")).StatusCode);
        var last = app.Wal.LastLsn;

        var refused = new[]
        {
            await app.SendAsync(HttpMethod.Put, "/v1/entities/ORDER/x", """{"n":2}""", NvTestApp.NewRequestId()),
            await app.SendAsync(HttpMethod.Post, "/v1/entities/order/y", """{"n":3}""", NvTestApp.NewRequestId()),
            await app.SendAsync(HttpMethod.Delete, "/v1/entities/oRdEr/o1", requestId: NvTestApp.NewRequestId()),
            await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch",
                """{"items":[{"op":"create","dtoType":"Order","entityId":"z","payload":{}},{"op":"delete","dtoType":"ORDER","entityId":"o1"}]}""",
                NvTestApp.NewRequestId()), Ct),
        };

        foreach (var response in refused)
        {
            var problem = await NvTestApp.AssertProblemAsync(response, 400, "validation");
            Assert.Contains("differs only in case from the stored type 'Order'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(last, app.Wal.LastLsn); // nothing appended
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Order", "o2", """{"n":4}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(HttpMethod.Get, "/v1/entities/Order/o1")).StatusCode);
    }

    [Fact]
    public async Task Two_new_spellings_that_pass_the_check_together_are_a_rejected_batch_not_a_fault()
    {
        await using var app = await NvTestApp.StartAsync();

        // Neither type is stored yet, so both pass the check before the WAL; the apply creates the first spelling's table.
        var response = await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch",
            """{"items":[{"op":"create","dtoType":"Thing","entityId":"a","payload":{}},{"op":"create","dtoType":"THING","entityId":"b","payload":{}}]}""",
            NvTestApp.NewRequestId()), Ct);

        var problem = await NvTestApp.AssertProblemAsync(response, 422, "unstorable");
        Assert.Equal(1, problem.GetProperty("failedItem").GetInt32());
        Assert.Contains("differs only in case", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await app.SendAsync(HttpMethod.Get, "/v1/entities/Thing/a")).StatusCode); // all or nothing

        // The pipeline still serves: the first spelling owns the table now, the other is refused before the WAL.
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Thing", "c", "{}")).StatusCode);
        await NvTestApp.AssertProblemAsync(await app.CreateAsync("THING", "d", "{}"), 400, "validation");
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(HttpMethod.Get, "/health/ready")).StatusCode);
    }

    /// <summary>Fails without the outcome lookup before the case check (WritePipeline.SubmitCheckedAsync): the retry of the
    /// rejected write was refused 400 by the check, since its spelling now differs from a stored type, instead of getting
    /// its recorded 422, from the request-id cache and, after a restart, from the store.</summary>
    [Fact]
    public async Task A_retry_of_a_write_rejected_at_apply_as_another_spelling_gets_its_first_outcome_not_the_400()
    {
        using var dir = new TempDirectory();
        var second = NvTestApp.NewRequestId();
        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false, null, "--Nv:DbWriter:SqliteBusyTimeout=00:00:01"))
        {
            // Both writes reach the WAL while the database is held (so neither spelling is stored when each is checked);
            // once it is released, the first in LSN order creates the table and the other is rejected as unstorable.
            using (var holder = new SqliteConnection($"Data Source={Path.Combine(app.DataDirectory, "nv.db")};Pooling=False"))
            {
                holder.Open();
                using (var begin = holder.CreateCommand())
                {
                    begin.CommandText = "BEGIN IMMEDIATE;";
                    begin.ExecuteNonQuery();
                }

                Assert.Equal(HttpStatusCode.Accepted, (await SendDurableAsync(app, "/v1/entities/Order/a", """{"n":1}""", NvTestApp.NewRequestId())).StatusCode);
                Assert.Equal(HttpStatusCode.Accepted, (await SendDurableAsync(app, "/v1/entities/ORDER/b", """{"n":2}""", second)).StatusCode);
            }

            var outcome = await WaitForOutcomeAsync(app, second);
            Assert.Equal("rejected", outcome.GetProperty("status").GetString());
            var last = app.Wal.LastLsn;

            var retry = await app.SendAsync(HttpMethod.Post, "/v1/entities/ORDER/b", """{"n":2}""", second);
            var problem = await NvTestApp.AssertProblemAsync(retry, 422, "unstorable");
            Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
            Assert.Equal(outcome.GetProperty("lsn").GetInt64(), problem.GetProperty("lsn").GetInt64());

            // A new request under another id is still refused by the check, and nothing of either is appended.
            await NvTestApp.AssertProblemAsync(await app.SendAsync(HttpMethod.Post, "/v1/entities/ORDER/b", """{"n":2}""", NvTestApp.NewRequestId()), 400,
                "validation");
            Assert.Equal(last, app.Wal.LastLsn);
        }

        // After a restart the request-id cache is empty: the outcome comes from the store.
        await using var again = await NvTestApp.StartAsync(dir, ownsDirectory: false);
        var stored = await again.SendAsync(HttpMethod.Post, "/v1/entities/ORDER/b", """{"n":2}""", second);
        await NvTestApp.AssertProblemAsync(stored, 422, "unstorable");
        Assert.Equal("true", stored.Headers.GetValues("X-Nv-Replayed").Single());
        await NvTestApp.AssertProblemAsync(await again.SendAsync(HttpMethod.Put, "/v1/entities/ORDER/b", """{"n":2}""", NvTestApp.NewRequestId()), 400,
            "validation");
    }

    /// <summary>Fails without the outcome lookup in WritePipeline.PrepareItemsAsync: once the first spelling was stored by
    /// another write, the retry of the rejected batch was refused 400 instead of getting its recorded 422.</summary>
    [Fact]
    public async Task A_retry_of_a_batch_rejected_for_two_spellings_gets_its_first_outcome_after_one_is_stored()
    {
        await using var app = await NvTestApp.StartAsync();
        const string Batch = """{"items":[{"op":"create","dtoType":"Thing","entityId":"a","payload":{}},{"op":"create","dtoType":"THING","entityId":"b","payload":{}}]}""";
        var requestId = NvTestApp.NewRequestId();
        var first = await NvTestApp.AssertProblemAsync(
            await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch", Batch, requestId), Ct), 422, "unstorable");
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Thing", "c", "{}")).StatusCode); // THING is another spelling now
        var last = app.Wal.LastLsn;

        var retry = await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch", Batch, requestId), Ct);

        var problem = await NvTestApp.AssertProblemAsync(retry, 422, "unstorable");
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        Assert.Equal(first.GetProperty("lsn").GetInt64(), problem.GetProperty("lsn").GetInt64());
        Assert.Equal(1, problem.GetProperty("failedItem").GetInt32());
        var fresh = await NvTestApp.AssertProblemAsync(
            await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch", Batch, NvTestApp.NewRequestId()), Ct), 400, "validation");
        Assert.Contains("items/1/dtoType", fresh.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(last, app.Wal.LastLsn);
    }

    private static async Task<HttpResponseMessage> SendDurableAsync(NvTestApp app, string path, string json, string requestId)
    {
        var request = NvTestApp.Request(HttpMethod.Post, path, json, requestId);
        request.Headers.Add("Prefer", "nv-ack=durable");
        return await app.Client.SendAsync(request, Ct);
    }

    private static async Task<System.Text.Json.JsonElement> WaitForOutcomeAsync(NvTestApp app, string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var outcome = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/requests/{requestId}"));
            if (outcome.GetProperty("status").GetString() is "applied" or "rejected")
            {
                return outcome;
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {requestId} was not decided: {outcome}");
            await Task.Delay(100, Ct);
        }
    }
}
