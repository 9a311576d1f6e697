using System.Text.Json;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Smoke.Tests.Support;

/// <summary>The expected database: WAL records applied once, in LSN order, with the documented rules
/// (create on a live entity, update/delete of a missing one and a stale expected LSN are rejected).</summary>
internal sealed class Oracle
{
    public Dictionary<long, ApplyStatus> Statuses { get; } = [];

    public Dictionary<(string DtoType, string EntityId), (JsonElement Document, Lsn Lsn, bool Live)> Entities { get; } = [];

    public static Oracle Fold(IEnumerable<WalRecord> records)
    {
        var oracle = new Oracle();
        foreach (var record in records)
        {
            var key = (record.DtoType, record.EntityId);
            var live = oracle.Entities.TryGetValue(key, out var current) && current.Live;
            var rejected = record.Operation switch
            {
                WalOperation.Create => live,
                _ => !live,
            } || (record.ExpectedLsn is { } expected && (!live || current.Lsn != expected));
            oracle.Statuses[record.Lsn.Value] = rejected ? ApplyStatus.Rejected : ApplyStatus.Applied;
            if (!rejected)
            {
                oracle.Entities[key] = (record.Payload, record.Lsn, record.Operation != WalOperation.Delete);
            }
        }

        return oracle;
    }
}
