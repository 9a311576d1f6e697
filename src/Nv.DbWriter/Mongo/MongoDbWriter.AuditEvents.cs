using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    // An audit event touches no entity: its outcome (applied, final at once: there is no entity write to wait for) is stored
    // with the batch's resolutions (unrecorded until its request's outcome is stored), exactly as for a write, so replay,
    // retries and the backfill treat it uniformly. The audit stage writes its entry from the record.
    private ApplyResult DecideAuditEvent(Plan plan, WalRecord record)
    {
        plan.AddResolution(record, MongoCommands.Resolution(record, ApplyStatus.Applied, RejectReason.None, before: null, pending: false));
        plan.MaxResolvedLsn = Math.Max(plan.MaxResolvedLsn, record.Lsn.Value);
        _logger.RecordApplied(record.Lsn.Value, record.Operation, record.DtoType, record.EntityId, ApplyStatus.Applied, RejectReason.None);
        return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Applied };
    }
}
