using System.Text.Json;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

public sealed class BootReplayerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replay_applies_unresolved_records_backfills_audit_and_a_second_run_does_nothing()
    {
        var wal = new InMemoryWal();
        for (var i = 1; i <= 10; i++)
        {
            var record = await wal.AppendAsync(new WalRecord
            {
                Id = Guid.CreateVersion7(),
                Service = "svc",
                Version = 1,
                Timestamp = DateTimeOffset.UtcNow,
                Operation = WalOperation.Create,
                DtoType = "Item",
                EntityId = i == 10 ? "e1" : "e" + i,
                Payload = JsonSerializer.SerializeToElement(new { i }),
                ReplayKey = ReplayKey.Create("test", "svc", 1, "Item", "e" + i),
                RequestId = "r" + i,
            }, Ct);
            await wal.FlushAsync(record.Lsn, Ct);
        }

        await using var h = new PipelineHarness(wal);
        var first = await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(10, first.RecordsRead);
        Assert.Equal(9, first.Replayed);
        Assert.Equal(1, first.Rejected);
        Assert.Equal(9, first.AuditBackfilled);
        Assert.Equal(new Lsn(10), wal.AppliedLsn);
        Assert.Equal(new Lsn(10), wal.AuditedLsn);

        var second = await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal(0, second.RecordsRead);
        Assert.Equal(0, second.AuditBackfilled);
        Assert.Equal(9, h.Audit.Entries.Count);
    }

    [Fact]
    public async Task Dry_run_writes_nothing()
    {
        var wal = new InMemoryWal();
        var record = await wal.AppendAsync(new WalRecord
        {
            Id = Guid.CreateVersion7(),
            Service = "svc",
            Version = 1,
            Timestamp = DateTimeOffset.UtcNow,
            Operation = WalOperation.Create,
            DtoType = "Item",
            EntityId = "e1",
            Payload = JsonSerializer.SerializeToElement(new { a = 1 }),
            ReplayKey = "test:svc:1:Item:e1",
            RequestId = "r1",
        }, Ct);
        await wal.FlushAsync(record.Lsn, Ct);
        await using var h = new PipelineHarness(wal);

        var summary = await h.Replayer.RunAsync(dryRun: true, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(1, summary.Replayed);
        Assert.Equal(0, h.Db.ApplyCalls);
        Assert.Empty(h.Audit.Entries);
        Assert.Equal(Lsn.None, wal.AppliedLsn);
    }
}
