using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.Host.Pipeline;
using Nv.Host.Replay;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Wires the real pipeline, audit coordinator and replayer over in-memory stores (logic tests only).</summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    public PipelineHarness(
        InMemoryWal? wal = null, InMemoryDbWriter? db = null, InMemoryAuditSink? audit = null, Nv.Audit.Outbox.PendingAuditEntries? pending = null,
        AckLevel ack = AckLevel.Audited, Action<PipelineOptions>? configure = null, TimeProvider? time = null)
    {
        Wal = wal ?? new InMemoryWal();
        Db = db ?? new InMemoryDbWriter();
        Audit = audit ?? new InMemoryAuditSink();
        var settings = new PipelineOptions
        {
            Environment = "test",
            Service = "svc",
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromMilliseconds(50),
            AuditBackfillInterval = TimeSpan.FromHours(1),
            // These logic tests look at the audit trail right after a write returns; the ack levels have their own tests.
            Ack = ack,
            DurablePointInterval = TimeSpan.FromHours(1),
        };
        configure?.Invoke(settings);
        var options = Options.Create(settings);
        Coordinator = new AuditCoordinator(Wal, Db, Audit, AuditLogger, pending);
        Pipeline = new WritePipeline(Wal, Db, Coordinator, options, PipelineLogger, time);
        Replayer = new BootReplayer(Wal, Db, Coordinator, options, new FakeLogger<BootReplayer>());
    }

    public InMemoryWal Wal { get; }

    public InMemoryDbWriter Db { get; }

    public InMemoryAuditSink Audit { get; }

    public FakeLogger<AuditCoordinator> AuditLogger { get; } = new();

    public FakeLogger<WritePipeline> PipelineLogger { get; } = new();

    public AuditCoordinator Coordinator { get; }

    public WritePipeline Pipeline { get; }

    public BootReplayer Replayer { get; }

    public static WriteRequest Create(string requestId, string entityId, int n = 1) => new()
    {
        RequestId = requestId,
        Operation = WalOperation.Create,
        DtoType = "Item",
        EntityId = entityId,
        Payload = JsonSerializer.SerializeToElement(new { n }),
        UserId = "u1",
    };

    public async ValueTask DisposeAsync()
    {
        await Pipeline.DisposeAsync();
        Coordinator.Dispose();
    }
}
