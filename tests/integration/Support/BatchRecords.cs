using System.Text.Json;
using Nv.Wal;

namespace Nv.Integration.Tests.Support;

/// <summary>Builds batch records (<see cref="WalOperation.Batch"/>) for tests, with the LSN assigned and deterministic ids.</summary>
internal static class BatchRecords
{
    public static WalRecord Batch(long lsn, params WalBatchItem[] items) => new()
    {
        Id = WalRecords.IdFor(lsn),
        Lsn = new Lsn(lsn),
        Service = "tests",
        Version = 0,
        Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(lsn),
        Operation = WalOperation.Batch,
        DtoType = "",
        EntityId = "",
        Payload = default,
        ReplayKey = "",
        RequestId = "batch-" + lsn,
        UserId = "tester",
        Items = items,
    };

    public static WalBatchItem Create(long lsn, int index, string entityId, string json, string dtoType = WalRecords.DefaultType, int version = 1) =>
        Item(lsn, index, WalOperation.Create, dtoType, entityId, WalRecords.Json(json), null, version);

    public static WalBatchItem Update(long lsn, int index, string entityId, string json, Lsn? expected = null, string dtoType = WalRecords.DefaultType, int version = 1) =>
        Item(lsn, index, WalOperation.Update, dtoType, entityId, WalRecords.Json(json), expected, version);

    public static WalBatchItem Delete(long lsn, int index, string entityId, Lsn? expected = null, string dtoType = WalRecords.DefaultType) =>
        Item(lsn, index, WalOperation.Delete, dtoType, entityId, WalRecords.Json("{}"), expected, 1);

    /// <summary>Deterministic item id: the batch's LSN and the item's index.</summary>
    public static Guid ItemId(long lsn, int index) => new(0x01910000 + index, 0, 0x7000, BitConverter.GetBytes(lsn));

    private static WalBatchItem Item(long lsn, int index, WalOperation operation, string dtoType, string entityId, JsonElement payload, Lsn? expected, int version) => new()
    {
        Id = ItemId(lsn, index),
        Operation = operation,
        Version = version,
        DtoType = dtoType,
        EntityId = entityId,
        Payload = payload,
        ReplayKey = $"test:tests:{version}:{dtoType}:{entityId}",
        ExpectedLsn = expected,
    };
}
