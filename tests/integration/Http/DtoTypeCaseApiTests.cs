using System.Net;

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
}
