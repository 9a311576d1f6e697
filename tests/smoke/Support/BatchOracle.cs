using System.Text.Json;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Smoke.Tests.Support;

/// <summary>The expected database for a WAL holding batch records: every record applied once, in LSN order, with the
/// documented rules; a batch applies all its items or none (the first failing item rejects it).</summary>
internal sealed class BatchOracle
{
    public Dictionary<long, ApplyStatus> Statuses { get; } = [];

    public Dictionary<(string DtoType, string EntityId), (JsonElement Document, Lsn Lsn, bool Live, Guid WalId)> Entities { get; } = [];

    /// <summary>The ids of every entity change that was applied (one audit entry each).</summary>
    public HashSet<Guid> AppliedChangeIds { get; } = [];

    public static BatchOracle Fold(IEnumerable<WalRecord> records)
    {
        var oracle = new BatchOracle();
        foreach (var record in records)
        {
            var changes = record.EntityChanges();
            var rejected = changes.Any(oracle.Rejects);
            oracle.Statuses[record.Lsn.Value] = rejected ? ApplyStatus.Rejected : ApplyStatus.Applied;
            if (rejected)
            {
                continue;
            }

            foreach (var change in changes)
            {
                oracle.Entities[(change.DtoType, change.EntityId)] = (change.Payload, change.Lsn, change.Operation != WalOperation.Delete, change.Id);
                oracle.AppliedChangeIds.Add(change.Id);
            }
        }

        return oracle;
    }

    private bool Rejects(WalRecord change)
    {
        var live = Entities.TryGetValue((change.DtoType, change.EntityId), out var current) && current.Live;
        return (change.Operation == WalOperation.Create ? live : !live)
            || (change.ExpectedLsn is { } expected && (!live || current.Lsn != expected));
    }
}
