using System.Text.Json;
using Nv.Wal;

namespace Nv.Unit.Tests.Support;

/// <summary>WAL records for replay tests: appended and flushed (durable), never applied.</summary>
internal static class ReplayRecords
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static WalRecord Record(WalOperation operation, string entityId, object? payload) => new()
    {
        Id = Guid.CreateVersion7(),
        Service = "svc",
        Version = 1,
        Timestamp = DateTimeOffset.UtcNow,
        Operation = operation,
        DtoType = "Item",
        EntityId = entityId,
        Payload = payload is null ? default : JsonSerializer.SerializeToElement(payload),
        ReplayKey = ReplayKey.Create("test", "svc", 1, "Item", entityId),
        RequestId = "r-" + Guid.NewGuid().ToString("N"),
    };

    /// <summary>Creates of entities e{from} to e{from + count - 1}.</summary>
    public static List<WalRecord> Creates(int count, int from = 1) =>
        Enumerable.Range(from, count).Select(i => Record(WalOperation.Create, "e" + i, new { i })).ToList();

    public static async Task<InMemoryWal> WalWithAsync(IEnumerable<WalRecord> records)
    {
        var wal = new InMemoryWal();
        await AppendAsync(wal, records);
        return wal;
    }

    public static async Task AppendAsync(InMemoryWal wal, IEnumerable<WalRecord> records)
    {
        foreach (var record in records)
        {
            var stored = await wal.AppendAsync(record, Ct);
            await wal.FlushAsync(stored.Lsn, Ct);
        }
    }
}
