using System.Text.Json;
using Nv.Wal;

namespace Nv.Integration.Tests.Support;

/// <summary>Builds <see cref="WalRecord"/>s for tests, with the LSN already assigned.</summary>
internal static class WalRecords
{
    public const string DefaultType = "Order";

    public static WalRecord Create(long lsn, string entityId, string json, string dtoType = DefaultType, string? requestId = null,
        Lsn? expectedLsn = null) =>
        Build(lsn, WalOperation.Create, dtoType, entityId, Json(json), requestId, expectedLsn);

    public static WalRecord Update(long lsn, string entityId, string json, string dtoType = DefaultType, string? requestId = null,
        Lsn? expectedLsn = null) =>
        Build(lsn, WalOperation.Update, dtoType, entityId, Json(json), requestId, expectedLsn);

    public static WalRecord Delete(long lsn, string entityId, string dtoType = DefaultType, string? requestId = null, Lsn? expectedLsn = null) =>
        Build(lsn, WalOperation.Delete, dtoType, entityId, default, requestId, expectedLsn);

    /// <summary>An erase record of the subject <c>dtoType/entityId</c> (request id <c>erase-{lsn}</c>).</summary>
    public static WalRecord Erase(long lsn, string dtoType, string entityId) =>
        Build(lsn, WalOperation.Erase, dtoType, entityId, default, "erase-" + lsn, null) with { Subject = dtoType + "/" + entityId };

    /// <summary>The record sealed under <paramref name="keyId"/> for its subject (by default its own entity).</summary>
    public static WalRecord Sealed(WalRecord record, Guid keyId, string? subject = null) =>
        record with { PayloadKeyId = keyId, Subject = subject ?? record.DtoType + "/" + record.EntityId };

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>Deterministic WAL id per LSN, so a replayed record carries the same id as the original.</summary>
    public static Guid IdFor(long lsn) => new(0x01900000, 0, 0x7000, BitConverter.GetBytes(lsn));

    /// <summary>The replay key the builder uses; built by hand (not <see cref="ReplayKey.Create"/>) so hostile dtoTypes
    /// still reach the writer in tests.</summary>
    public static string KeyFor(string dtoType, string entityId) => $"test:tests:1:{dtoType}:{entityId}";

    private static WalRecord Build(long lsn, WalOperation operation, string dtoType, string entityId, JsonElement payload, string? requestId,
        Lsn? expectedLsn) => new()
        {
            Id = IdFor(lsn),
            Lsn = new Lsn(lsn),
            Service = "tests",
            Version = 1,
            Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(lsn),
            Operation = operation,
            DtoType = dtoType,
            EntityId = entityId,
            Payload = payload,
            ReplayKey = KeyFor(dtoType, entityId),
            RequestId = requestId ?? "req-" + lsn,
            ExpectedLsn = expectedLsn,
        };
}
