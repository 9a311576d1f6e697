using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Hosting;

/// <summary>Nv embedded the way a service does it: <c>builder.AddNv()</c> (or <c>services.AddNv(section)</c>) and
/// <c>AddHealthChecks().AddNv()</c> in a plain Generic Host, on the real WAL, SQLite store and SQLite audit trail, with
/// every store under the section's <c>DataDirectory</c>.</summary>
public sealed class EmbeddedNvTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddNv_on_the_builder_writes_reads_and_queries_the_audit_trail_under_DataDirectory()
    {
        var builder = NewBuilder(new() { ["Nv:DataDirectory"] = _dir.Path, ["Nv:Pipeline:Service"] = "orders" });
        builder.AddNv();
        using var host = builder.Build();
        await host.StartAsync(Ct);
        var nv = host.Services.GetRequiredService<IWritePipeline>();
        await nv.WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        var created = await nv.WriteAsync(Write("req-1", WalOperation.Create, new { status = "placed", total = 12.5 }), Ct);
        var updated = await nv.WriteAsync(Write("req-2", WalOperation.Update, new { status = "shipped", total = 12.5 }, created.Lsn), Ct);
        var stale = await nv.WriteAsync(Write("req-3", WalOperation.Update, new { status = "lost", total = 0 }, created.Lsn), Ct);

        Assert.Equal(WriteStatus.Applied, created.Status);
        Assert.Equal(WriteStatus.Applied, updated.Status);
        Assert.Equal(WriteStatus.Rejected, stale.Status);
        Assert.Equal(Nv.DbWriter.RejectReason.PreconditionFailed, stale.RejectReason);
        var order = await nv.ReadAsync("Order", "o-1", Ct);
        Assert.NotNull(order);
        Assert.Equal("shipped", order.Document.GetProperty("status").GetString());
        Assert.Equal(updated.Lsn, order.Lsn);

        var history = await nv.GetHistoryAsync("Order", "o-1", cancellationToken: Ct);
        Assert.Equal(["update", "create"], history.Entries.Select(e => e.Operation));
        Assert.Null(history.NextCursor);
        var byRequest = Assert.Single(await nv.GetAuditByRequestAsync("req-2", Ct));
        Assert.Equal("placed", byRequest.Before!.Value.GetProperty("status").GetString());
        Assert.Equal("shipped", byRequest.After!.Value.GetProperty("status").GetString());
        Assert.Contains(byRequest.Changes, c => c.Path == "/status");
        var byUser = await nv.QueryAuditAsync(new AuditQuery { UserId = "alice", Service = "orders", Ascending = true }, Ct);
        Assert.Equal(["req-1", "req-2"], byUser.Entries.Select(e => e.RequestId));
        Assert.Empty(await nv.GetAuditByRequestAsync("req-3", Ct)); // rejected: nothing changed, nothing audited

        // Every store is under the section's DataDirectory.
        Assert.True(File.Exists(Path.Combine(_dir.Path, "nv.db")));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "audit.db")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir.Path, "wal")));
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task AddNv_with_any_section_reads_its_settings_and_the_configure_delegate_wins()
    {
        var dataDir = Path.Combine(_dir.Path, "custom");
        var builder = NewBuilder(new()
        {
            ["Storage:Nv:DataDirectory"] = dataDir,
            ["Storage:Nv:Pipeline:Service"] = "from-section",
            ["Storage:Nv:Pipeline:MaxBatchSize"] = "32",
        });
        builder.Services.AddNv(builder.Configuration.GetSection("Storage:Nv"), o =>
        {
            o.Service = "from-code";
            o.MaxLagRecords *= 2; // applied once (a review found the delegate applied twice: 4× the default)
        });
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PipelineOptions>>().Value;
        Assert.Equal("from-code", options.Service);
        Assert.Equal(32, options.MaxBatchSize);
        Assert.Equal(2 * new PipelineOptions().MaxLagRecords, options.MaxLagRecords);
        Assert.Equal(Path.Combine(dataDir, "wal"), host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<WalOptions>>().Value.Directory);

        await host.StartAsync(Ct);
        var nv = host.Services.GetRequiredService<IWritePipeline>();
        await nv.WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await nv.WriteAsync(Write("req-1", WalOperation.Create, new { status = "placed" }), Ct);
        Assert.True(File.Exists(Path.Combine(dataDir, "nv.db")));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "nv.db")));
        await host.StopAsync(Ct);
    }

    /// <summary>Found by a review: the read-only opens are configuration keys, and a host given one started and failed
    /// every append (audit entries parked for ever).</summary>
    [Theory]
    [InlineData("Nv:Audit:ReadOnly")]
    [InlineData("Nv:DbWriter:ReadOnly")]
    [InlineData("Nv:Wal:ReadOnly")]
    public async Task A_host_configured_with_a_read_only_open_refuses_to_start_naming_it(string setting)
    {
        var first = NewBuilder(new() { ["Nv:DataDirectory"] = _dir.Path });
        first.AddNv();
        using (var created = first.Build()) // the stores and the WAL exist: a read-only open of them would succeed
        {
            await created.StartAsync(Ct);
            await created.Services.GetRequiredService<IWritePipeline>().WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
            await created.StopAsync(Ct);
        }

        var builder = NewBuilder(new() { ["Nv:DataDirectory"] = _dir.Path, [setting] = "true" });
        builder.AddNv();
        using var host = builder.Build();

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains(setting, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_checks_report_ready_only_after_boot_replay_with_the_backlogs()
    {
        var builder = NewBuilder(new() { ["Nv:DataDirectory"] = _dir.Path });
        builder.AddNv();
        builder.Services.AddHealthChecks().AddNv();
        using var host = builder.Build();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var before = await health.CheckHealthAsync(c => c.Tags.Contains(NvHealthChecksBuilderExtensions.ReadyTag), Ct);
        Assert.Equal(HealthStatus.Unhealthy, before.Status);

        await host.StartAsync(Ct);
        await host.Services.GetRequiredService<IWritePipeline>().WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var ready = await health.CheckHealthAsync(c => c.Tags.Contains(NvHealthChecksBuilderExtensions.ReadyTag), Ct);
        var live = await health.CheckHealthAsync(c => c.Tags.Contains(NvHealthChecksBuilderExtensions.LiveTag), Ct);

        Assert.Equal(HealthStatus.Healthy, ready.Status);
        Assert.Equal(HealthStatus.Healthy, live.Status);
        Assert.True(ready.Entries["nv-ready"].Data.ContainsKey("auditBacklog"));
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task A_second_stop_waits_for_the_first_so_disposing_after_it_is_safe()
    {
        // WebApplication.Run stops and then disposes the host when a WebApplicationFactory stops the same host: two stops
        // at once, then a dispose while the first may still be running.
        var builder = NewBuilder(new() { ["Nv:DataDirectory"] = _dir.Path, ["Nv:Pipeline:Service"] = "svc" });
        builder.AddNv();
        var host = builder.Build();
        await host.StartAsync(Ct);
        var nv = host.Services.GetRequiredService<IWritePipeline>();
        await nv.WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await nv.WriteAsync(Write("req-1", WalOperation.Create, new { status = "placed" }), Ct);

        var lifecycle = host.Services.GetServices<IHostedService>().OfType<Nv.Host.Hosting.NvLifecycle>().Single();
        var first = host.StopAsync(CancellationToken.None);
        await host.StopAsync(CancellationToken.None);
        // Nv's own stop (drain, service-stop entry, checkpoint, watermarks) has finished when the second stop returns: both
        // calls waited for the one stop. (Not first.IsCompleted: after the hosted services, each Host.StopAsync call runs the
        // host's own steps, and the two calls may finish those in either order; a bare Microsoft.Extensions.Hosting host
        // shows the same.)
        Assert.True(lifecycle.StopAsync(CancellationToken.None).IsCompletedSuccessfully, "the second stop returned while the first was still stopping Nv");
        host.Dispose();
        await first;

        // Stopped once: one service-stop entry, and the next start finds everything.
        var again = NewBuilder(new() { ["Nv:DataDirectory"] = _dir.Path, ["Nv:Pipeline:Service"] = "svc" });
        again.AddNv();
        using var restarted = again.Build();
        await restarted.StartAsync(Ct);
        var nv2 = restarted.Services.GetRequiredService<IWritePipeline>();
        await nv2.WhenReadyAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var stops = await nv2.QueryAuditAsync(new AuditQuery { Operation = "service-stop" }, Ct);
        Assert.Single(stops.Entries);
        Assert.NotNull(await nv2.ReadAsync("Order", "o-1", Ct));
        await restarted.StopAsync(Ct);
    }

    private static HostApplicationBuilder NewBuilder(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        return builder;
    }

    private static WriteRequest Write(string requestId, WalOperation operation, object payload, Lsn? expected = null) => new()
    {
        RequestId = requestId,
        Operation = operation,
        DtoType = "Order",
        EntityId = "o-1",
        Payload = JsonSerializer.SerializeToElement(payload),
        UserId = "alice",
        ExpectedLsn = expected,
        Ack = AckLevel.Audited,
    };

    public void Dispose() => _dir.Dispose();
}
