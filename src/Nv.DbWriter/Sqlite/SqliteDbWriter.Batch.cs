using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

internal sealed partial class SqliteDbWriter
{
    // A batch record inside the chunk's transaction. Every item's slot is read and decided first (ApplyRules.DecideBatch)
    // and only a batch that applies writes anything, so a rejected batch leaves no trace but its resolution. The item
    // writes, the resolution and its batch row commit with the rest of the chunk or not at all: SQLite's atomic commit is
    // what makes the batch all-or-nothing, also against a crash half-way through the items (mid-batch-apply).
    private ApplyResult ApplyBatch(ArraySegment<SqliteTable?> tables, WalRecord record, long resolvedThrough, ref long maxResolutionLsn, ref bool advance)
    {
        var lsn = record.Lsn.Value;
        if (lsn <= maxResolutionLsn)
        {
            if (_resolutions!.Find(lsn) is { } stored)
            {
                ApplyRules.ThrowIfIssuedTwice(record, stored.WalId);
                return ApplyRules.FromBatchResolution(record, stored);
            }

            if (lsn <= resolvedThrough)
            {
                return ApplyRules.PurgedBatch(record);
            }
        }

        var items = record.EntityChanges();
        var slots = new (bool Exists, bool Live, long StoredLsn)[items.Count];
        var befores = new byte[]?[items.Count];
        var unstorable = -1; // the first item whose type has no table (ResolveTables): the batch cannot be stored
        for (var i = 0; i < items.Count; i++)
        {
            if (tables[i] is not { } table)
            {
                unstorable = i;
                break;
            }

            var exists = table.TryRead(items[i].EntityId, out var document, out var storedLsn, out var deleted);
            slots[i] = (exists, exists && !deleted, storedLsn);
            befores[i] = exists && !deleted ? document : null;
        }

        var decision = unstorable >= 0
            ? new BatchDecision(ApplyStatus.Rejected, RejectReason.Unstorable, unstorable, new ApplyStatus[items.Count], null)
            : ApplyRules.DecideBatch(items, i => slots[i]);
        byte[]? itemsJson = null;
        if (decision.Status == ApplyStatus.Applied)
        {
            var half = items.Count / 2;
            for (var i = 0; i < items.Count; i++)
            {
                if (i == half && half > 0 && DbCrashPoint.IsArmed)
                {
                    DbCrashPoint.Hit(); // half the items written inside the open transaction
                }

                var item = items[i];
                if (decision.ItemStatuses[i] != ApplyStatus.Applied)
                {
                    continue;
                }

                if (item.Operation == WalOperation.Delete)
                {
                    tables[i]!.Write(item.EntityId, default, tombstone: true, lsn, item.ReplayKey, item.Id);
                }
                else
                {
                    tables[i]!.Write(item.EntityId, SerializePayload(item.Payload), tombstone: false, lsn, item.ReplayKey, item.Id);
                }
            }

            itemsJson = BatchItemsJson.Encode(decision.ItemStatuses, befores);
        }
        else if (decision.Status == ApplyStatus.AlreadyApplied)
        {
            itemsJson = BatchItemsJson.Encode(decision.ItemStatuses, befores);
        }

        _resolutions!.Insert(lsn, record.Id, record.RequestId, decision.Status, decision.Reason, before: null);
        _resolutions.InsertBatch(lsn, decision.FailedItem, itemsJson, SqliteKeys.ItemKeyIdsJson(items));
        _requests!.Insert(record, decision.Status, decision.Reason, decision.FailedItem); // a retry of the batch finds it like a single write's
        for (var i = 0; i < items.Count; i++)
        {
            // Every item's key belongs to its subject now, whatever the batch's outcome (its ciphertext is in the WAL).
            _keys!.Assign(items[i], decision.Status == ApplyStatus.Applied ? decision.ItemStatuses[i] : decision.Status);
        }

        if (lsn > maxResolutionLsn)
        {
            maxResolutionLsn = lsn;
        }

        if (lsn == resolvedThrough + 1)
        {
            advance = true;
        }

        _logger.RecordApplied(lsn, record.Operation, "(batch)", record.RequestId, decision.Status, decision.Reason);
        if (decision.Status == ApplyStatus.Rejected)
        {
            var failed = decision.FailedItem!.Value;
            return new ApplyResult
            {
                Lsn = record.Lsn,
                Status = ApplyStatus.Rejected,
                RejectReason = decision.Reason,
                FailedItem = failed,
                Error = unstorable >= 0
                    ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"Batch item {failed}: {CaseCollision(EnsureOpen(), items[failed].DtoType)} Nothing of the batch was written.")
                    : ApplyRules.DescribeBatch(items, failed, decision.Reason, decision.FailedStoredLsn),
            };
        }

        var parsed = new JsonElement?[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            parsed[i] = SqliteJson.ParseOrNull(befores[i]);
        }

        return ApplyRules.BatchResult(record, decision.Status, items, decision.ItemStatuses, parsed);
    }
}
