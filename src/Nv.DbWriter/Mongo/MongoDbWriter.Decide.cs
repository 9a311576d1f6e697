using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    /// <summary>Reads the batch's stored resolutions and slots (from the primary), then decides every record in LSN order
    /// exactly as the SQLite writer does, tracking each slot's state through the batch in memory. Nothing is written here.</summary>
    private async Task<Plan> DecideAsync(IReadOnlyList<WalRecord> batch, Prepared[] prepared, CancellationToken cancellationToken)
    {
        var plan = new Plan(batch.Count);
        var stored = new Dictionary<long, BsonDocument>();
        var lookups = batch.Where(r => r.Lsn.Value <= _maxResolutionLsn).Select(r => r.Lsn.Value).ToList();
        if (lookups.Count > 0)
        {
            foreach (var document in await Find(_resolutions!, MongoCommands.ResolutionsOf(lookups)).ToListAsync(cancellationToken))
            {
                stored[document["_id"].ToInt64()] = document;
            }
        }

        var slots = new Dictionary<(string DtoType, string EntityId), Slot?>();
        var toRead = batch.Where((r, i) => prepared[i].Unstorable is null && r.Operation != WalOperation.AuditEvent && !IsFinal(stored, r.Lsn.Value) && r.Lsn.Value > _resolvedThrough);
        foreach (var group in toRead.GroupBy(r => r.DtoType))
        {
            var collection = await CollectionAsync(group.Key, cancellationToken);
            var ids = group.Select(r => r.EntityId).Distinct(StringComparer.Ordinal).ToList();
            foreach (var id in ids)
            {
                slots[(group.Key, id)] = null;
            }

            foreach (var document in await Find(collection, MongoCommands.ByIds(ids)).ToListAsync(cancellationToken))
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
            if (MayAdvanceAt(lsn))
            {
                plan.TouchesWatermark = true;
            }

            if (stored.TryGetValue(lsn, out var resolution))
            {
                var outcome = ReadResolution(resolution);
                ApplyRules.ThrowIfIssuedTwice(record, outcome.WalId);

                if (!resolution.Contains(MongoCommands.Pending))
                {
                    // Unrecorded: final, stored by an attempt that failed before it returned (never reported, so an Applied
                    // outcome is reported Applied); its request's outcome is recorded and then it is shown.
                    var unrecorded = resolution.Contains(MongoCommands.Unrecorded);
                    plan.Results[i] = FromResolution(record, outcome, resolution, appliedNow: unrecorded || _unreported.Contains(lsn));
                    if (unrecorded)
                    {
                        plan.Reveal(lsn);
                    }

                    continue;
                }

                if (prepared[i].Unstorable is null)
                {
                    // Decided and stored by an attempt that failed before its entity write was known durable: keep that
                    // outcome and before image, redo the write held to the version the decision read (a no-op if it
                    // already happened; the outcome is dropped and decided again if that version never came to be).
                    pendingSeen++;
                    var expected = resolution.GetValue(MongoCommands.ExpectedWalId, BsonNull.Value) is BsonString walId ? walId.Value : null;
                    plan.Redos.Add(new PlannedWrite(record, MongoCommands.EntityRedo(record, prepared[i].Document, expected)));
                    plan.Complete(lsn);
                    Advance(slots, record, prepared[i].Document);
                    plan.Results[i] = new ApplyResult
                    {
                        Lsn = record.Lsn,
                        Status = ApplyStatus.Applied,
                        Before = outcome.Before,
                        After = ApplyRules.AfterImage(record),
                    };
                    continue;
                }

                // A pending outcome for a payload the store cannot hold (never stored by this build): decide it again.
                plan.Stale.Add(lsn);
            }
            else if (lsn <= _resolvedThrough)
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

            plan.Results[i] = record.Operation == WalOperation.AuditEvent ? DecideAuditEvent(plan, record)
                : prepared[i].Unstorable is { } why ? Reject(plan, record, why)
                : Decide(plan, slots, record, prepared[i].Document);
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
        if (slot is { IsForeign: true })
        {
            return Reject(plan, record, ForeignSlot(record));
        }

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

        plan.AddResolution(record, MongoCommands.Resolution(record, status, reason, before, pending: status == ApplyStatus.Applied,
            expectedWalId: slot?.WalId, expectedLsn: slot?.Lsn));
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

    /// <summary>A record the store cannot hold: rejected for good, its slot untouched (so the records after it are
    /// decided against what is really stored).</summary>
    private ApplyResult Reject(Plan plan, WalRecord record, string error)
    {
        plan.AddResolution(record, MongoCommands.Unstorable(record, error));
        plan.MaxResolvedLsn = Math.Max(plan.MaxResolvedLsn, record.Lsn.Value);
        _logger.RecordUnstorable(record.Lsn.Value, record.DtoType, record.EntityId, error);
        return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Rejected, RejectReason = RejectReason.Unstorable, Error = error };
    }

    /// <summary>The slot's state after <paramref name="record"/> is written (if the guard lets it write).</summary>
    private static void Advance(Dictionary<(string DtoType, string EntityId), Slot?> slots, WalRecord record, BsonDocument? document)
    {
        var key = (record.DtoType, record.EntityId);
        if (!slots.TryGetValue(key, out var slot) || slot is null || slot.IsForeign || slot.Lsn < record.Lsn.Value)
        {
            slots[key] = new Slot(record.Lsn.Value, MongoCommands.FormatId(record.Id), record.Operation == WalOperation.Delete, document);
        }
    }

    private static bool IsFinal(Dictionary<long, BsonDocument> stored, long lsn) =>
        stored.TryGetValue(lsn, out var resolution) && !resolution.Contains(MongoCommands.Pending);

    internal static RecordResolution ReadResolution(BsonDocument document)
    {
        var lsn = new Lsn(document["_id"].ToInt64());
        var (failedItem, items) = MongoBatchCommands.Read(document, lsn);
        return new()
        {
            Lsn = lsn,
            WalId = Guid.ParseExact(document["walId"].AsString, "D"),
            RequestId = document["requestId"].AsString,
            Status = (ApplyStatus)document["status"].ToInt32(),
            RejectReason = (RejectReason)document["rejectReason"].ToInt32(),
            Before = MongoJson.ToJsonOrNull(document.GetValue("before", BsonNull.Value)),
            FailedItem = failedItem,
            Items = items,
        };
    }

    /// <summary>The result of a record whose final outcome is stored. Applied is reported as AlreadyApplied (a replay)
    /// unless this process stored it in an attempt that failed before returning (<paramref name="appliedNow"/>).</summary>
    private static ApplyResult FromResolution(WalRecord record, RecordResolution stored, BsonDocument document, bool appliedNow) =>
        stored.Status == ApplyStatus.Rejected
            ? new ApplyResult
            {
                Lsn = record.Lsn,
                Status = ApplyStatus.Rejected,
                RejectReason = stored.RejectReason,
                Before = stored.Before,
                Error = document.GetValue(MongoCommands.Error, BsonNull.Value) is BsonString error
                    ? error.Value
                    : ApplyRules.Describe(record, stored.RejectReason, storedLsn: null),
            }
            : new ApplyResult
            {
                Lsn = record.Lsn,
                Status = appliedNow && stored.Status == ApplyStatus.Applied ? ApplyStatus.Applied : ApplyStatus.AlreadyApplied,
                Before = stored.Before,
                After = ApplyRules.AfterImage(record),
            };

    /// <summary>A stored slot as read before the batch (or as the batch leaves it): the guard fields and the live document;
    /// or a document Nv did not write (<see cref="IsForeign"/>: no <c>_nv</c> object with a numeric LSN and a WAL id).</summary>
    private sealed record Slot(long Lsn, string WalId, bool Deleted, BsonDocument? Document, bool IsForeign = false)
    {
        private static readonly Slot Foreign = new(0, string.Empty, Deleted: false, Document: null, IsForeign: true);

        /// <summary>Never throws: whatever the stored document holds, it is either Nv's or foreign.</summary>
        public static Slot Read(BsonDocument stored)
        {
            if (stored.GetValue(MongoCommands.Nv, BsonNull.Value) is not BsonDocument nv
                || nv.GetValue("lsn", BsonNull.Value) is not { IsNumeric: true } lsn
                || nv.GetValue("walId", BsonNull.Value) is not BsonString walId
                || !Guid.TryParseExact(walId.Value, "D", out _)
                || nv.GetValue("deleted", BsonBoolean.False) is not BsonBoolean deleted)
            {
                return Foreign;
            }

            var document = stored.GetValue(MongoCommands.Doc, BsonNull.Value) as BsonDocument;
            if (!deleted.Value && document is null)
            {
                return Foreign; // a live entity always has its document under "doc"
            }

            return new Slot(lsn.ToInt64(), walId.Value, deleted.Value, deleted.Value ? null : document);
        }
    }

    /// <summary>What one batch will write, grouped by collection in LSN order, and the results it will return.</summary>
    private sealed class Plan(int count)
    {
        public ApplyResult[] Results { get; } = new ApplyResult[count];

        public List<BsonDocument> NewResolutions { get; } = [];

        /// <summary>The record of each of <see cref="NewResolutions"/>, by index.</summary>
        public List<WalRecord> NewResolutionRecords { get; } = [];

        /// <summary>Pending outcomes to drop before the new ones are inserted (their records are decided again).</summary>
        public List<long> Stale { get; } = [];

        /// <summary>Entity writes of outcomes stored by a failed attempt, in LSN order.</summary>
        public List<PlannedWrite> Redos { get; } = [];

        public Dictionary<string, List<PlannedWrite>> Writes { get; } = new(StringComparer.Ordinal);

        /// <summary>LSNs whose entity write this batch performs (their resolutions are cleared of <c>pending</c>).</summary>
        public List<long> Completed { get; } = [];

        public long MaxResolvedLsn { get; set; }

        public bool TouchesWatermark { get; set; }

        /// <summary>LSNs of final outcomes stored unrecorded: shown (step 3) once their requests' outcomes are stored.</summary>
        public List<long> Unrecorded { get; } = [];

        /// <summary>A new outcome. A final one (not pending) is stored <c>unrecorded</c>: invisible, like a pending one, until
        /// its request's outcome is stored, because a boot moves the watermark over visible resolutions without replaying
        /// their records.</summary>
        public void AddResolution(WalRecord record, BsonDocument resolution)
        {
            if (!resolution.Contains(MongoCommands.Pending))
            {
                MongoCommands.AsUnrecorded(resolution);
                Reveal(record.Lsn.Value);
            }

            NewResolutions.Add(resolution);
            NewResolutionRecords.Add(record);
        }

        public void Reveal(long lsn)
        {
            Unrecorded.Add(lsn);
            MaxResolvedLsn = Math.Max(MaxResolvedLsn, lsn);
        }

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
