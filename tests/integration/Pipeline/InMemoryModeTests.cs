using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Host.Hosting;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>The in-memory mode as a service embedding Nv uses it: <c>AddNv(o =&gt; o.UseInMemory())</c> gives the same
/// API and rules (single writes, batches, retries, audit chain and proofs), writes no file, and says loudly that
/// nothing is durable; configuration alone cannot switch a host to it.</summary>
public sealed class InMemoryModeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IHost Build(Action<PipelineOptions>? configure, FakeLogCollector logs, Dictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            // Where the file stores would go: the in-memory mode must leave this directory empty.
            ["Nv:Wal:Directory"] = Path.Combine(_dir.Path, "wal"),
            ["Nv:DbWriter:DataDirectory"] = _dir.Path,
            ["Nv:Audit:DataDirectory"] = _dir.Path,
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders().AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Information);
        builder.Services.AddNv(configure);
        return builder.Build();
    }

    [Fact]
    public async Task The_in_memory_mode_has_the_same_api_and_rules_writes_no_file_and_says_it_is_not_durable()
    {
        var logs = new FakeLogCollector();
        using var host = Build(o => o.UseInMemory(), logs);
        await host.StartAsync(Ct);
        var pipeline = host.Services.GetRequiredService<IWritePipeline>();
        await pipeline.WhenReadyAsync(Ct);

        var created = await pipeline.WriteAsync(new WriteRequest
        {
            RequestId = "r1", Operation = WalOperation.Create, DtoType = "Order", EntityId = "o-1",
            Payload = JsonSerializer.SerializeToElement(new { total = 10 }), Ack = AckLevel.Audited,
        }, Ct);
        Assert.Equal(WriteStatus.Applied, created.Status);
        var conflict = await pipeline.WriteAsync(new WriteRequest
        {
            RequestId = "r2", Operation = WalOperation.Create, DtoType = "Order", EntityId = "o-1", Payload = JsonSerializer.SerializeToElement(new { }),
        }, Ct);
        Assert.Equal((WriteStatus.Rejected, Nv.DbWriter.RejectReason.AlreadyExists), (conflict.Status, conflict.RejectReason));
        Assert.True((await pipeline.WriteAsync(new WriteRequest
        {
            RequestId = "r1", Operation = WalOperation.Create, DtoType = "Order", EntityId = "o-1",
            Payload = JsonSerializer.SerializeToElement(new { total = 10 }),
        }, Ct)).IsReplay);

        var batch = await pipeline.WriteBatchAsync(new BatchRequest
        {
            RequestId = "b1",
            Ack = AckLevel.Audited,
            Items =
            [
                new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "o-1", Payload = JsonSerializer.SerializeToElement(new { paid = true }) },
                new BatchItem { Operation = BatchOperation.Create, DtoType = "Stock", EntityId = "s-1", Payload = JsonSerializer.SerializeToElement(new { qty = 1 }) },
            ],
        }, Ct);
        Assert.Equal(WriteStatus.Applied, batch.Status);

        var audit = host.Services.GetRequiredService<IAuditSink>();
        Assert.Equal(2, (await audit.QueryAsync(new AuditQuery { RequestId = "b1" }, Ct)).Entries.Count);
        var proofs = host.Services.GetRequiredService<IAuditProofs>();
        var entry = (await audit.QueryAsync(new AuditQuery { RequestId = "r1" }, Ct)).Entries.Single();
        var proof = await proofs.GetInclusionProofAsync(entry.Id, cancellationToken: Ct);
        Assert.True(proof!.Verify());
        Assert.True((await proofs.VerifyAsync(null, Ct)).IsValid);

        Assert.Contains(logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("NOTHING IS DURABLE", StringComparison.Ordinal));
        await host.StopAsync(Ct);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Path));
    }

    [Fact]
    public async Task Configuration_alone_cannot_switch_the_stores_and_the_host_refuses_to_start()
    {
        using var host = Build(null, new FakeLogCollector(), new Dictionary<string, string?> { ["Nv:Pipeline:InMemory"] = "true" });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));
        Assert.Contains("UseInMemory", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
