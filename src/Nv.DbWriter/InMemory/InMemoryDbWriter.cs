using System.Text.Json;
using Nv.DbWriter.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.InMemory;

/// <summary>An <see cref="IDbWriter"/> that keeps entities and resolutions in process memory: the in-memory mode
/// (<c>AddNv(o =&gt; o.UseInMemory())</c>) for development and unit tests of services that embed Nv.</summary>
/// <remarks>
/// Not durable: everything is gone when the process ends. Otherwise it behaves as the embedded SQLite store does, with
/// the same code for every decision (<see cref="ApplyRules"/>): the page-LSN rule, tombstones, stored resolutions that
/// make replay return the first outcome, all-or-nothing batch records, the resolved-through watermark, purge, dtoType
/// validation (including SQLite's refusal of two dtoTypes that differ only in case, so a service tested in memory never
/// meets a surprise on disk), request outcomes kept until <see cref="PurgeRequestsAsync"/> (as the SQLite store's
/// <c>_nv_requests</c>). A batch of records is applied atomically: it is decided and written under one lock, and a
/// record that throws leaves nothing of the batch behind. Thread-safe; stored documents are immutable copies.
/// </remarks>
internal sealed class InMemoryDbWriter : IDbWriter
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, Slot>> _tables = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _tableNames = new(StringComparer.OrdinalIgnoreCase);
    private readonly SortedDictionary<long, RecordResolution> _resolutions = [];
    private readonly Dictionary<string, long> _firstByRequest = new(StringComparer.Ordinal);
    private readonly Dictionary<RequestKey, RequestOutcome> _requests = [];
    private long _resolvedThrough;
    private bool _disposed;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        Validate(batch);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckTableNames(batch);

            // Work on copies of what the batch touches, published only at the end: all of the batch or none of it.
            var changes = new Changes(this);
            var results = new ApplyResult[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                results[i] = batch[i].Operation == WalOperation.Batch ? ApplyBatch(changes, batch[i]) : ApplyOne(changes, batch[i]);
            }

            changes.Publish();
            return Task.FromResult<IReadOnlyList<ApplyResult>>(results);
        }
    }

    private static void Validate(IReadOnlyList<WalRecord> batch)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i] ?? throw new ArgumentException($"Batch item {i} is null.", nameof(batch));
            if (record.Lsn.Value <= 0)
            {
                throw new ArgumentException($"Batch item {i} has no LSN (it was never appended to the WAL).", nameof(batch));
            }

            if (record.Operation == WalOperation.Batch)
            {
                ApplyRules.ValidateBatch(record, nameof(batch));
                continue;
            }

            if (record.Operation != WalOperation.AuditEvent)
            {
                SqliteIdentifiers.ThrowIfInvalidDtoType(record.DtoType, nameof(batch)); // an audit event names no table
            }

            if (string.IsNullOrEmpty(record.EntityId) || record.ReplayKey is null || record.RequestId is null)
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} lacks an entity id, replay key or request id.", nameof(batch));
            }

            if (record.Operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete or WalOperation.AuditEvent))
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} has an unknown operation {record.Operation}.", nameof(batch));
            }

            if (record.Operation != WalOperation.Delete && record.Payload.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException(
                    $"Record at LSN {record.Lsn} ({record.Operation}) needs a JSON object payload, not {record.Payload.ValueKind}.", nameof(batch));
            }
        }
    }

    // SQLite table names ignore case; refuse what the embedded store would refuse.
    private void CheckTableNames(IReadOnlyList<WalRecord> batch)
    {
        var seen = new Dictionary<string, string>(_tableNames, StringComparer.OrdinalIgnoreCase);
        foreach (var change in batch.SelectMany(static r => r.EntityChanges()))
        {
            if (seen.TryGetValue(change.DtoType, out var existing) && !string.Equals(existing, change.DtoType, StringComparison.Ordinal))
            {
                throw new ArgumentException(
                    $"dtoType '{change.DtoType}' differs only in case from '{existing}'; SQLite table names are case-insensitive, so it is refused.", nameof(batch));
            }

            seen[change.DtoType] = change.DtoType;
        }
    }

    private ApplyResult ApplyOne(Changes changes, WalRecord record)
    {
        var lsn = record.Lsn.Value;
        if (changes.Resolution(lsn) is { } stored)
        {
            ThrowIfReissued(stored, record);
            return stored.Status == ApplyStatus.Rejected
                ? new ApplyResult
                {
                    Lsn = record.Lsn,
                    Status = ApplyStatus.Rejected,
                    RejectReason = stored.RejectReason,
                    Before = stored.Before,
                    Error = ApplyRules.Describe(record, stored.RejectReason, storedLsn: null),
                }
                : new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.AlreadyApplied, Before = stored.Before, After = ApplyRules.AfterImage(record) };
        }

        if (lsn <= _resolvedThrough)
        {
            return new ApplyResult
            {
                Lsn = record.Lsn,
                Status = ApplyStatus.AlreadyApplied,
                After = ApplyRules.AfterImage(record),
                Error = "The resolution of this record was purged; its outcome is no longer known.",
            };
        }

        if (record.Operation == WalOperation.AuditEvent)
        {
            // No entity: only the request's outcome is recorded (as the SQLite writer's ResolveAuditEvent does).
            changes.Resolve(record, new RecordResolution
            {
                Lsn = record.Lsn,
                WalId = record.Id,
                RequestId = record.RequestId,
                Status = ApplyStatus.Applied,
                RejectReason = RejectReason.None,
            });
            return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Applied };
        }

        var slot = changes.Slot(record.DtoType, record.EntityId);
        var exists = slot is not null;
        var live = slot is { Deleted: false };
        var (status, reason) = ApplyRules.Decide(record, exists, live, slot?.Lsn ?? 0);
        var before = live && status != ApplyStatus.AlreadyApplied ? slot!.Document : (JsonElement?)null;
        if (status == ApplyStatus.Applied)
        {
            changes.Write(record);
        }

        changes.Resolve(record, new RecordResolution
        {
            Lsn = record.Lsn,
            WalId = record.Id,
            RequestId = record.RequestId,
            Status = status,
            RejectReason = reason,
            Before = before,
        });
        return new ApplyResult
        {
            Lsn = record.Lsn,
            Status = status,
            RejectReason = reason,
            Before = before,
            After = status == ApplyStatus.Rejected ? null : ApplyRules.AfterImage(record),
            Error = reason == RejectReason.None ? null : ApplyRules.Describe(record, reason, exists ? slot!.Lsn : null),
        };
    }

    private ApplyResult ApplyBatch(Changes changes, WalRecord record)
    {
        var lsn = record.Lsn.Value;
        if (changes.Resolution(lsn) is { } stored)
        {
            ThrowIfReissued(stored, record);
            return ApplyRules.FromBatchResolution(record, stored);
        }

        if (lsn <= _resolvedThrough)
        {
            return ApplyRules.PurgedBatch(record);
        }

        var items = record.EntityChanges();
        var slots = items.Select(i => changes.Slot(i.DtoType, i.EntityId)).ToArray();
        var decision = ApplyRules.DecideBatch(items, i => (slots[i] is not null, slots[i] is { Deleted: false }, slots[i]?.Lsn ?? 0));
        var befores = slots.Select(s => s is { Deleted: false } ? s.Document : (JsonElement?)null).ToArray();
        if (decision.Status == ApplyStatus.Applied)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (decision.ItemStatuses[i] == ApplyStatus.Applied)
                {
                    changes.Write(items[i]);
                }
            }
        }

        var result = decision.Status == ApplyStatus.Rejected
            ? new ApplyResult
            {
                Lsn = record.Lsn,
                Status = ApplyStatus.Rejected,
                RejectReason = decision.Reason,
                FailedItem = decision.FailedItem,
                Error = ApplyRules.DescribeBatch(items, decision.FailedItem!.Value, decision.Reason, decision.FailedStoredLsn),
            }
            : ApplyRules.BatchResult(record, decision.Status, items, decision.ItemStatuses, befores);
        changes.Resolve(record, new RecordResolution
        {
            Lsn = record.Lsn,
            WalId = record.Id,
            RequestId = record.RequestId,
            Status = decision.Status,
            RejectReason = decision.Reason,
            FailedItem = decision.FailedItem,
            Items = decision.Status == ApplyStatus.Rejected
                ? null
                : [.. result.Items!.Select(static i => new ApplyResult { Lsn = i.Lsn, Status = i.Status, Before = i.Before })],
        });
        return result;
    }

    public Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        SqliteIdentifiers.ThrowIfInvalidDtoType(dtoType, nameof(dtoType));
        ArgumentException.ThrowIfNullOrEmpty(entityId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Task.FromResult(_tables.TryGetValue(dtoType, out var table) && table.TryGetValue(entityId, out var slot) && !slot.Deleted
                ? new StoredEntity { DtoType = dtoType, EntityId = entityId, Document = slot.Document!.Value, Lsn = new Lsn(slot.Lsn), ReplayKey = slot.ReplayKey, WalId = slot.WalId }
                : null);
        }
    }

    public Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(after.Value, nameof(after));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var upTo = after.Value > long.MaxValue - limit ? long.MaxValue : after.Value + limit;
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<RecordResolution>>(
                [.. _resolutions.SkipWhile(p => p.Key <= after.Value).TakeWhile(p => p.Key <= upTo).Select(static p => p.Value)]);
        }
    }

    public async Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        return (await FindByRequestIdsAsync([requestId], cancellationToken)).GetValueOrDefault(requestId);
    }

    public Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        var found = new Dictionary<string, RecordResolution>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var id in requestIds)
            {
                if (_firstByRequest.TryGetValue(id, out var lsn) && _resolutions.TryGetValue(lsn, out var resolution))
                {
                    found[id] = resolution;
                }
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, RecordResolution>>(found);
    }

    public Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = new Dictionary<RequestKey, RequestOutcome>();
        lock (_gate)
        {
            foreach (var key in keys)
            {
                if (_requests.TryGetValue(key, out var outcome))
                {
                    found[key] = outcome;
                }
            }
        }

        return Task.FromResult<IReadOnlyDictionary<RequestKey, RequestOutcome>>(found);
    }

    public Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var expired = _requests.Where(p => p.Value.CreatedAt < createdBefore).Select(static p => p.Key).ToList();
            expired.ForEach(k => _requests.Remove(k));
            return Task.FromResult((long)expired.Count);
        }
    }

    // The outcome stored at this LSN belongs to another record: the LSN was issued twice (see SqliteDbWriter.Apply).
    private static void ThrowIfReissued(RecordResolution stored, WalRecord record)
    {
        if (stored.WalId != record.Id)
        {
            throw new DbWriterException(
                $"LSN {record.Lsn} was issued twice: the database holds the outcome of WAL record {stored.WalId} there, not of {record.Id}.",
                isTransient: false);
        }
    }

    public Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(new Lsn(_resolvedThrough));
        }
    }

    public Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var effective = Math.Min(upTo.Value, _resolvedThrough);
            foreach (var lsn in _resolutions.Keys.TakeWhile(l => l <= effective).ToList())
            {
                var resolution = _resolutions[lsn];
                _resolutions.Remove(lsn);
                if (_firstByRequest.TryGetValue(resolution.RequestId, out var first) && first == lsn)
                {
                    _firstByRequest.Remove(resolution.RequestId);
                }
            }

            foreach (var table in _tables.Values)
            {
                foreach (var id in table.Where(p => p.Value.Deleted && p.Value.Lsn <= effective).Select(static p => p.Key).ToList())
                {
                    table.Remove(id);
                }
            }
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>One stored slot: a live document or a tombstone that keeps its LSN.</summary>
    private sealed record Slot(JsonElement? Document, long Lsn, bool Deleted, Guid WalId, string ReplayKey);

    /// <summary>What one ApplyAsync call changes, kept aside until every record of the call is decided.</summary>
    private sealed class Changes(InMemoryDbWriter writer)
    {
        private readonly Dictionary<(string, string), Slot> _slots = [];
        private readonly Dictionary<long, RecordResolution> _resolutions = [];
        private readonly Dictionary<RequestKey, RequestOutcome> _requests = [];

        public Slot? Slot(string dtoType, string entityId) =>
            _slots.TryGetValue((dtoType, entityId), out var written) ? written
            : writer._tables.TryGetValue(dtoType, out var table) && table.TryGetValue(entityId, out var stored) ? stored
            : null;

        public RecordResolution? Resolution(long lsn) =>
            _resolutions.GetValueOrDefault(lsn) ?? writer._resolutions.GetValueOrDefault(lsn);

        public void Write(WalRecord change) => _slots[(change.DtoType, change.EntityId)] = new Slot(
            change.Operation == WalOperation.Delete ? null : change.Payload.Clone(),
            change.Lsn.Value, change.Operation == WalOperation.Delete, change.Id, change.ReplayKey);

        // The request id's outcome goes with its resolution (first one wins, as the unique index does on SQLite).
        public void Resolve(WalRecord record, RecordResolution resolution)
        {
            _resolutions[resolution.Lsn.Value] = resolution;
            var key = RequestKey.Of(record);
            if (!writer._requests.ContainsKey(key))
            {
                _requests.TryAdd(key, new RequestOutcome
                {
                    Scope = key.Scope,
                    RequestId = record.RequestId,
                    Lsn = record.Lsn,
                    Status = resolution.Status,
                    RejectReason = resolution.RejectReason,
                    Fingerprint = record.Fingerprint,
                    Operation = record.Operation,
                    DtoType = record.DtoType,
                    EntityId = record.EntityId,
                    CreatedAt = record.Timestamp,
                    FailedItem = RequestOutcomeFields.FailedItemOf(resolution.Status, resolution.FailedItem),
                    RecordId = RequestOutcomeFields.RecordIdOf(record),
                });
            }
        }

        public void Publish()
        {
            foreach (var ((dtoType, entityId), slot) in _slots)
            {
                if (!writer._tables.TryGetValue(dtoType, out var table))
                {
                    writer._tables[dtoType] = table = new Dictionary<string, Slot>(StringComparer.Ordinal);
                    writer._tableNames[dtoType] = dtoType;
                }

                table[entityId] = slot;
            }

            foreach (var (key, outcome) in _requests)
            {
                writer._requests.TryAdd(key, outcome);
            }

            foreach (var resolution in _resolutions.Values)
            {
                writer._resolutions[resolution.Lsn.Value] = resolution;
                if (!writer._firstByRequest.TryGetValue(resolution.RequestId, out var first) || first > resolution.Lsn.Value)
                {
                    writer._firstByRequest[resolution.RequestId] = resolution.Lsn.Value;
                }
            }

            var next = writer._resolvedThrough;
            while (writer._resolutions.ContainsKey(next + 1))
            {
                next++;
            }

            writer._resolvedThrough = next;
        }
    }
}
