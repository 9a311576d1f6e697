using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>A batch the WAL refuses as larger than one record (<see cref="WalOptions.MaxRecordBytes"/>) is a refusal of that
/// request only (413, nothing written); the pipeline keeps serving. Options validation keeps MaxBatchBytes within a record,
/// so this is the WAL's own check standing behind the pipeline's (a batch whose size the estimate got wrong, or a pipeline
/// built without the validation, as here).</summary>
public sealed class BatchRecordLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_batch_over_the_wal_record_limit_is_refused_for_that_request_and_the_next_writes_succeed()
    {
        // The review's reproduction: a 64 KiB record limit and the default 960 KiB batch limit, 8 items of 12 KB.
        await using var wal = WriteAheadLog.CreateInMemory(new WalOptions { MaxRecordBytes = 64 * 1024 });
        var db = new InMemoryDbWriter();
        var settings = new PipelineOptions
        {
            Environment = "test", Service = "svc", Ack = AckLevel.Durable, MaxPayloadBytes = 16 * 1024,
            DurablePointInterval = TimeSpan.FromHours(1), AuditBackfillInterval = TimeSpan.FromHours(1),
        };
        using var coordinator = new AuditCoordinator(wal, db, new InMemoryAuditSink(), new FakeLogger<AuditCoordinator>(), null);
        await using var pipeline = new WritePipeline(wal, db, coordinator, Options.Create(settings), new FakeLogger<WritePipeline>(), null);
        pipeline.Start();

        var refused = await Assert.ThrowsAsync<WriteValidationException>(() => pipeline.WriteBatchAsync(Batch("b1", 8, 12_000), Ct));

        Assert.True(refused.IsTooLarge);
        Assert.Contains("Nv:Wal:MaxRecordBytes", refused.Message, StringComparison.Ordinal);
        Assert.Null(pipeline.Fault);
        Assert.Equal((WalState.Open, Lsn.None), (wal.State, wal.LastLsn));
        Assert.Equal(WriteStatus.Accepted, (await pipeline.WriteAsync(PipelineHarness.Create("r2", "x"), Ct)).Status);
        Assert.Equal(WriteStatus.Accepted, (await pipeline.WriteBatchAsync(Batch("b3", 2, 1000), Ct)).Status);
        Assert.Equal(new Lsn(2), wal.LastLsn);
    }

    private static BatchRequest Batch(string requestId, int count, int size) => new()
    {
        RequestId = requestId,
        UserId = "u1",
        Items = [.. Enumerable.Range(0, count).Select(i => new BatchItem
        {
            Operation = BatchOperation.Create,
            DtoType = "Order",
            EntityId = $"{requestId}-{i}",
            Payload = JsonSerializer.SerializeToElement(new { s = new string('x', size) }),
        })],
    };
}
