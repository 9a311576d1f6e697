using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Nv.Wal;

namespace Nv.Integration.Tests.Http;

/// <summary>A write whose WAL record is too large is refused for that request alone; the WAL stays open.</summary>
public sealed class RecordLimitApiTests
{
    [Fact]
    public async Task A_record_the_wal_cannot_take_is_a_413_for_that_request_and_later_writes_still_succeed()
    {
        // The payload limit fits a record (options validation), but the metadata headers push this record past it.
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Wal:MaxRecordBytes=8192", "--Nv:Pipeline:MaxPayloadBytes=4096");
        var ct = TestContext.Current.CancellationToken;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/entities/Item/big")
        {
            Content = new StringContent("""{"a":1}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Request-Id", NvTestApp.NewRequestId());
        for (var i = 0; i < 12; i++)
        {
            request.Headers.Add("X-Meta-Note" + i, new string('m', 1000));
        }

        var refused = await app.Client.SendAsync(request, ct);
        var problem = await NvTestApp.AssertProblemAsync(refused, 413, "payload-too-large");
        Assert.Contains("Nv:Wal:MaxRecordBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(Lsn.None, app.Wal.LastLsn);
        Assert.Equal(WalState.Open, app.Wal.State);

        var ready = await app.Client.GetAsync("/health/ready", ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var next = await app.CreateAsync("Item", "small", """{"a":2}""");
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        Assert.Equal(new Lsn(1), app.Wal.LastLsn);
    }
}
