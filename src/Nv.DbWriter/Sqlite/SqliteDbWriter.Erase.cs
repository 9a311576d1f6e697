using Microsoft.Data.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

internal sealed partial class SqliteDbWriter
{
    // An erase record, inside the batch transaction (so it commits whole with its resolution, or not at all): destroys
    // every data key of the subject and forgets the before images kept under them, deletes the subject's live entities
    // (leaving tombstones at this LSN, so no older record can bring them back), and records the erasure. Nothing it
    // stores holds personal data; with secure_delete the deleted content is overwritten. Applying it again (replay after a
    // crash) finds its stored resolution and changes nothing.
    private ApplyResult ApplyErase(WalRecord record, ref long maxResolutionLsn, ref bool advance, long resolvedThrough, SqliteTransaction transaction)
    {
        var lsn = record.Lsn.Value;
        var (entities, keysDestroyed) = _keys!.Erase(transaction, record.Subject!, record.DtoType, record.EntityId);
        var deleted = 0;
        foreach (var (dtoType, entityId) in entities)
        {
            if (FindTable(EnsureOpen(), dtoType) is not { } table)
            {
                continue;
            }

            if (table.TryRead(entityId, out _, out var storedLsn, out var isDeleted) && !isDeleted && storedLsn < lsn)
            {
                table.Write(entityId, default, tombstone: true, lsn, record.ReplayKey, record.Id);
                deleted++;
            }
        }

        _keys.RecordErasure(transaction, record, keysDestroyed, deleted);
        _resolutions!.Insert(lsn, record.Id, record.RequestId, ApplyStatus.Applied, RejectReason.None, before: null);
        _requests!.Insert(record, ApplyStatus.Applied, RejectReason.None);
        if (lsn > maxResolutionLsn)
        {
            maxResolutionLsn = lsn;
        }

        if (lsn == resolvedThrough + 1)
        {
            advance = true;
        }

        _logger.SubjectErased(lsn, record.Subject!, keysDestroyed, deleted);
        return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Applied };
    }
}
