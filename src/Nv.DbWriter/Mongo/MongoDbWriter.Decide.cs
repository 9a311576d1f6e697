using System.Globalization;
using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    /// <summary>Reads the batch's stored resolutions and slots, then decides every record in LSN order exactly as the
    /// SQLite writer does, tracking each slot's state through the batch in memory. Nothing is written here.</summary>
    private async Task<Plan> DecideAsync(IReadOnlyList<WalRecord> batch, BsonDocument?[] documents, CancellationToken cancellationToken)
    {
        var plan = new Plan(batch.Count);
        var stored = new Dictionary<long, BsonDocument>();
        var lookups = batch.Where(r => r.Lsn.Value <= _maxResolutionLsn).Select(r => r.Lsn.Value).ToList();
        if (lookups.Count > 0)
        {
            foreach (var document in await _resolutions!.Find(MongoCommands.ResolutionsOf(lookups)).ToListAsync(cancellationToken))
            {
                stored[document["_id"].ToInt64()] = document;
            }
        }

        var slots = new Dictionary<(string DtoType, string EntityId), Slot?>();
        foreach (var group in batch.Where(r => !IsFinal(stored, r.Lsn.Value) && r.Lsn.Value > _resolvedThrough && r.Operation != WalOperation.AuditEvent)
                     .GroupBy(r => r.DtoType))
        {
            var collection = await CollectionAsync(group.Key, cancellationToken);
            var ids = group.Select(r => r.EntityId).Distinct(StringComparer.Ordinal).ToList();
            foreach (var id in ids)
            {
                slots[(group.Key, id)] = null;
            }

            foreach (var document in await collection.Find(MongoCommands.ByIds(ids)).ToListAsync(cancellationToken))
            {
                if (document["_id"] is BsonString id)
                {
                    slots[(group.Key, id.Value)] = Slot.Read(document);
                }
            }
        }

        var pendingSeen = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i];
            var lsn = record.Lsn.Value;
            if (lsn == _resolvedThrough + 1)
            {
                plan.TouchesWatermark = true;
            }

            if (stored.TryGetValue(lsn, out var resolution))
            {
                var outcome = ReadResolution(resolution);
                if (!resolution.Contains(MongoCommands.Pending))
                {
                    plan.Results[i] = FromResolution(record, outcome);
                    continue;
                }

                // Decided and stored by an attempt that failed before its entity write was known durable: keep that
                // outcome and before image, redo the write (a no-op through the LSN guard if it already happened).
                pendingSeen++;
                plan.AddWrite(record, MongoCommands.EntityWrite(record, documents[i], expectedWalId: null));
                plan.Complete(lsn);
                Advance(slots, record, documents[i]);
                plan.Results[i] = new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Applied, Before = outcome.Before, After = ApplyRules.AfterImage(record) };
                continue;
            }

            if (lsn <= _resolvedThrough)
            {
                // Resolved once, then purged with WAL truncation: the database already reflects it.
                plan.Results[i] = new ApplyResult
                {
                    Lsn = record.Lsn,
                    Status = ApplyStatus.AlreadyApplied,
                    After = ApplyRules.AfterImage(record),
                    Error = "The resolution of this record was purged; its outcome is no longer known.",
                };
                continue;
            }

            plan.Results[i] = record.Operation == WalOperation.AuditEvent ? DecideAuditEvent(plan, record) : Decide(plan, slots, record, documents[i]);
        }

        if (pendingSeen > 0)
        {
            _logger.CompletingPending(pendingSeen, batch[0].Lsn.Value);
        }

        return plan;
    }

    private ApplyResult Decide(Plan plan, Dictionary<(string DtoType, string EntityId), Slot?> slots, WalRecord record, BsonDocument? document)
    {
        var lsn = record.Lsn.Value;
        var slot = slots[(record.DtoType, record.EntityId)];
        var exists = slot is not null;
        var live = exists && !slot!.Deleted;
        var before = live ? slot!.Document : null;
        var (status, reason) = ApplyRules.Decide(record, exists, live, slot?.Lsn ?? 0);
        if (status == ApplyStatus.AlreadyApplied)
        {
            // Page-LSN rule: a later record already wrote this slot; this one is superseded and its before image unknown.
            before = null;
        }
        else if (status == ApplyStatus.Applied)
        {
            plan.AddWrite(record, MongoCommands.EntityWrite(record, document, expectedWalId: slot?.WalId));
            plan.Complete(lsn);
            Advance(slots, record, document);
        }

        plan.NewResolutions.Add(MongoCommands.Resolution(record, status, reason, before, pending: status == ApplyStatus.Applied));
        plan.MaxResolvedLsn = Math.Max(plan.MaxResolvedLsn, lsn);
        _logger.RecordApplied(lsn, record.Operation, record.DtoType, record.EntityId, status, reason);
        return new ApplyResult
        {
            Lsn = record.Lsn,
            Status = status,
            RejectReason = reason,
            Before = MongoJson.ToJsonOrNull(before),
            After = status is ApplyStatus.Rejected ? null : ApplyRules.AfterImage(record),
            Error = reason == RejectReason.None ? null : ApplyRules.Describe(record, reason, exists ? slot!.Lsn : null),
        };
    }

    /// <summary>The slot's state after <paramref name="record"/> is written (if the guard lets it write).</summary>
    private static void Advance(Dictionary<(string DtoType, string EntityId), Slot?> slots, WalRecord record, BsonDocument? document)
    {
        var key = (record.DtoType, record.EntityId);
        if (!slots.TryGetValue(key, out var slot) || slot is null || slot.Lsn < record.Lsn.Value)
        {
            slots[key] = new Slot(record.Lsn.Value, MongoCommands.FormatId(record.Id), record.Operation == WalOperation.Delete, document);
        }
    }

    private static bool IsFinal(Dictionary<long, BsonDocument> stored, long lsn) =>
        stored.TryGetValue(lsn, out var resolution) && !resolution.Contains(MongoCommands.Pending);

    internal static RecordResolution ReadResolution(BsonDocument document) => new()
    {
        Lsn = new Lsn(document["_id"].ToInt64()),
        WalId = Guid.ParseExact(document["walId"].AsString, "D"),
        RequestId = document["requestId"].AsString,
        Status = (ApplyStatus)document["status"].ToInt32(),
        RejectReason = (RejectReason)document["rejectReason"].ToInt32(),
        Before = MongoJson.ToJsonOrNull(document.GetValue("before", BsonNull.Value)),
    };

    private static ApplyResult FromResolution(WalRecord record, RecordResolution stored) => stored.Status == ApplyStatus.Rejected
        ? new ApplyResult
        {
            Lsn = record.Lsn,
            Status = ApplyStatus.Rejected,
            RejectReason = stored.RejectReason,
            Before = stored.Before,
            Error = ApplyRules.Describe(record, stored.RejectReason, storedLsn: null),
        }
        : new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.AlreadyApplied, Before = stored.Before, After = ApplyRules.AfterImage(record) };

    /// <summary>A stored slot as read before the batch (or as the batch leaves it): the guard fields and the live document.</summary>
    private sealed record Slot(long Lsn, string WalId, bool Deleted, BsonDocument? Document)
    {
        public static Slot Read(BsonDocument stored)
        {
            var nv = stored[MongoCommands.Nv].AsBsonDocument;
            var deleted = nv.GetValue("deleted", BsonBoolean.False).ToBoolean();
            var document = stored.GetValue(MongoCommands.Doc, BsonNull.Value) as BsonDocument;
            return new Slot(nv["lsn"].ToInt64(), nv["walId"].AsString, deleted, deleted ? null : document ?? []);
        }
    }

    /// <summary>What one batch will write, grouped by collection in LSN order, and the results it will return.</summary>
    private sealed class Plan(int count)
    {
        public ApplyResult[] Results { get; } = new ApplyResult[count];

        public List<BsonDocument> NewResolutions { get; } = [];

        public Dictionary<string, List<PlannedWrite>> Writes { get; } = new(StringComparer.Ordinal);

        /// <summary>LSNs whose entity write this batch performs (their resolutions are cleared of <c>pending</c>).</summary>
        public List<long> Completed { get; } = [];

        public long MaxResolvedLsn { get; set; }

        public bool TouchesWatermark { get; set; }

        public void AddWrite(WalRecord record, UpdateOneModel<BsonDocument> model)
        {
            if (!Writes.TryGetValue(record.DtoType, out var list))
            {
                Writes[record.DtoType] = list = [];
            }

            list.Add(new PlannedWrite(record, model));
        }

        public void Complete(long lsn)
        {
            Completed.Add(lsn);
            MaxResolvedLsn = Math.Max(MaxResolvedLsn, lsn);
        }
    }

    private sealed record PlannedWrite(WalRecord Record, UpdateOneModel<BsonDocument> Model);
}
