using System.Net;

namespace Nv.Integration.Tests.Http;

public sealed class OpsApiTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    [Fact]
    public async Task Live_and_ready_answer_200_once_boot_replay_is_done()
    {
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/health/live")).StatusCode);
        var ready = await _app.SendAsync(HttpMethod.Get, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", (await NvTestApp.JsonAsync(ready)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_are_served_in_prometheus_text_with_the_host_instruments()
    {
        await _app.CreateAsync("Metric", Guid.NewGuid().ToString("N"), """{"a":1}""");
        var response = await _app.SendAsync(HttpMethod.Get, "/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        foreach (var name in new[] { "nv_wal_appends", "nv_wal_flush_duration_seconds_bucket", "nv_wal_batch_size", "nv_applier_lag", "nv_audit_backlog",
                     "nv_replay_records_total", "nv_wal_lsn_durable", "nv_dbwriter_records" })
        {
            Assert.Contains(name, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Wal_status_reports_positions_and_unresolved_count()
    {
        await _app.CreateAsync("Metric", Guid.NewGuid().ToString("N"), """{"a":1}""");
        var status = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, "/v1/ops/wal"));
        Assert.Equal("open", status.GetProperty("state").GetString());
        Assert.True(status.GetProperty("lastLsn").GetInt64() >= 1);
        Assert.True(status.GetProperty("segments").GetInt32() >= 1);
        Assert.Equal(0, status.GetProperty("unresolved").GetInt64());
    }
}
