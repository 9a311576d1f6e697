using System.Text.Json;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Audit entries of batch records: one entry per entity change, all sharing the batch's request id and LSN.</summary>
internal sealed partial class AuditCoordinator
{
    /// <summary>Adds the entries of one applied record: its own entry, or for a batch one per item the database wrote
    /// (<paramref name="items"/>, from the apply result or the stored resolution: superseded items wrote nothing and get
    /// none). Each item's entry is built from the item's own record (<see cref="WalRecord.EntityChanges"/>): its id is the
    /// item id, so an entry written on time and one rebuilt by the backfill are the same entry.</summary>
    private void AddEntries(List<AuditEntry> entries, WalRecord record, JsonElement? before, IReadOnlyList<ApplyResult>? items)
    {
        if (record.Items is null)
        {
            entries.Add(Sealed(record, BuildEntry(record, before)));
            return;
        }

        if (items is null)
        {
            throw new InvalidOperationException($"Batch record {record.Lsn} was applied but its item outcomes are unknown.");
        }

        var changes = record.EntityChanges();
        if (items.Count != changes.Count)
        {
            throw new InvalidOperationException($"Batch record {record.Lsn} has {changes.Count} items but {items.Count} item outcomes.");
        }

        for (var i = 0; i < changes.Count; i++)
        {
            if (items[i].Status == ApplyStatus.Applied)
            {
                entries.Add(Sealed(changes[i], BuildEntry(changes[i], items[i].Before)));
            }
        }
    }
}
