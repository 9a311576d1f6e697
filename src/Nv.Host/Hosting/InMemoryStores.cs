using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Hosting;

/// <summary>The in-memory mode's stores (<see cref="Pipeline.PipelineOptions.UseInMemory"/>): the WAL, the database writer and
/// the audit sink, each the product's in-memory implementation with the same contract and rules as the file stores.</summary>
/// <remarks>Registered before the file stores with <c>TryAdd</c>, so <c>AddNvWal</c>, <c>AddNvDbWriter</c> and <c>AddNvAudit</c>
/// (which also use <c>TryAdd</c>) keep them. Nothing is durable; the host logs so at start (WARN).</remarks>
internal static class InMemoryStores
{
    /// <summary>Which stores AddNv registered (checked against the options at start by <see cref="InMemoryModeValidator"/>).</summary>
    /// <param name="InMemory">True when the in-memory stores were registered.</param>
    internal sealed record Selection(bool InMemory);

    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<IWriteAheadLog>(static sp => WriteAheadLog.CreateInMemory(sp.GetRequiredService<IOptions<WalOptions>>().Value));
        services.TryAddSingleton<IDbWriter>(static _ => DbWriters.CreateInMemory());
        services.TryAddSingleton<IAuditSink>(static sp => AuditSinks.CreateInMemory(sp.GetService<TimeProvider>()));
    }
}
