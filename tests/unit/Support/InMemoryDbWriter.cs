using System.Text.Json;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Unit.Tests.Support;

/// <summary>An in-memory IDbWriter with the same semantics as the real writers, for pipeline logic tests only.</summary>
internal sealed class InMemoryDbWriter : IDbWriter
{
    private readonly Dictionary<(string, string), (JsonElement Doc, Lsn Lsn, bool Deleted, Guid WalId, string Key)> _entities = [];
    private readonly SortedDictionary<long, RecordResolution> _resolutions = [];
    private readonly Dictionary<RequestKey, RequestOutcome> _requests = [];
    private readonly Lock _gate = new();

    /// <summary>While true, every ApplyAsync returns Transient.</summary>
    public volatile bool Unavailable;

    public int ApplyCalls;

    /// <summary>When set, every ApplyAsync waits for it first (a slow or stuck database).</summary>
    public volatile Task? ApplyGate;

    /// <summary>When set, ApplyAsync throws it (a corrupt store, a bug).</summary>
    public volatile Exception? ApplyFailure;

    /// <summary>When set, request-id lookups throw it.</summary>
    public volatile Exception? LookupFailure;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default)
    {
        if (ApplyGate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        if (ApplyFailure is { } failure)
        {
            throw failure;
        }

        return ApplyNow(batch);
    }

    private List<ApplyResult> ApplyNow(IReadOnlyList<WalRecord> batch)
    {
        Interlocked.Increment(ref ApplyCalls);
        if (Unavailable)
        {
            return batch.Select(r => new ApplyResult { Lsn = r.Lsn, Status = ApplyStatus.Transient, Error = "db down" }).ToList();
        }

        lock (_gate)
        {
            var results = new List<ApplyResult>(batch.Count);
            foreach (var record in batch)
            {
                results.Add(ApplyOne(record));
            }

            return results;
        }
    }

    private ApplyResult ApplyOne(WalRecord record)
    {
        if (_resolutions.TryGetValue(record.Lsn.Value, out var done))
        {
            return new ApplyResult
            {
                Lsn = record.Lsn,
                Status = done.Status == ApplyStatus.Rejected ? ApplyStatus.Rejected : ApplyStatus.AlreadyApplied,
                RejectReason = done.RejectReason,
                Before = done.Before,
                After = record.Operation == WalOperation.Delete ? null : record.Payload,
            };
        }

        // The decision itself is production code (ApplyRules): only the storage is faked here.
        var key = (record.DtoType, record.EntityId);
        var exists = _entities.TryGetValue(key, out var current);
        var live = exists && !current.Deleted;
        var (status, reason) = ApplyRules.Decide(record, exists, live, exists ? current.Lsn.Value : 0);
        JsonElement? before = live && status != ApplyStatus.AlreadyApplied ? current.Doc : null;
        if (status == ApplyStatus.Applied && record.Operation != WalOperation.AuditEvent)
        {
            _entities[key] = (record.Payload, record.Lsn, record.Operation == WalOperation.Delete, record.Id, record.ReplayKey);
        }

        _requests.TryAdd(RequestKey.Of(record), new RequestOutcome
        {
            Scope = RequestKey.Of(record).Scope,
            RequestId = record.RequestId,
            Lsn = record.Lsn,
            Status = status,
            RejectReason = reason,
            Fingerprint = record.Fingerprint,
            Operation = record.Operation,
            DtoType = record.DtoType,
            EntityId = record.EntityId,
            CreatedAt = record.Timestamp,
        });
        _resolutions[record.Lsn.Value] = new RecordResolution
        {
            Lsn = record.Lsn,
            WalId = record.Id,
            RequestId = record.RequestId,
            Status = status,
            RejectReason = reason,
            Before = before,
        };
        return new ApplyResult
        {
            Lsn = record.Lsn,
            Status = status,
            RejectReason = reason,
            Before = before,
            After = status == ApplyStatus.Applied ? ApplyRules.AfterImage(record) : null,
        };
    }

    public Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_entities.TryGetValue((dtoType, entityId), out var e) && !e.Deleted
                ? new StoredEntity { DtoType = dtoType, EntityId = entityId, Document = e.Doc, Lsn = e.Lsn, ReplayKey = e.Key, WalId = e.WalId }
                : null);
        }
    }

    public Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<RecordResolution>>(
                _resolutions.Values.Where(r => r.Lsn > after && r.Lsn.Value <= after.Value + limit).ToList());
        }
    }

    // The single lookup is the batched one with one id, as in the real writers (first record by LSN, LookupFailure).
    public async Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default) =>
        (await FindByRequestIdsAsync([requestId], cancellationToken)).GetValueOrDefault(requestId);

    public Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default)
    {
        if (LookupFailure is { } failure)
        {
            return Task.FromException<IReadOnlyDictionary<string, RecordResolution>>(failure);
        }

        lock (_gate)
        {
            var found = new Dictionary<string, RecordResolution>(StringComparer.Ordinal);
            foreach (var resolution in _resolutions.Values.OrderBy(r => r.Lsn))
            {
                if (requestIds.Contains(resolution.RequestId))
                {
                    found.TryAdd(resolution.RequestId, resolution);
                }
            }

            return Task.FromResult<IReadOnlyDictionary<string, RecordResolution>>(found);
        }
    }

    public Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys, CancellationToken cancellationToken = default)
    {
        if (LookupFailure is { } failure)
        {
            return Task.FromException<IReadOnlyDictionary<RequestKey, RequestOutcome>>(failure);
        }

        lock (_gate)
        {
            var found = new Dictionary<RequestKey, RequestOutcome>();
            foreach (var key in keys)
            {
                if (_requests.TryGetValue(key, out var outcome))
                {
                    found[key] = outcome;
                }
            }

            return Task.FromResult<IReadOnlyDictionary<RequestKey, RequestOutcome>>(found);
        }
    }

    public Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var expired = _requests.Where(p => p.Value.CreatedAt < createdBefore).Select(p => p.Key).ToList();
            expired.ForEach(k => _requests.Remove(k));
            return Task.FromResult((long)expired.Count);
        }
    }

    /// <summary>Forgets every resolution (as WAL truncation's purge does), keeping the request outcomes.</summary>
    public void PurgeAllResolutions()
    {
        lock (_gate)
        {
            _resolutions.Clear();
        }
    }

    public Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            long l = 0;
            while (_resolutions.ContainsKey(l + 1))
            {
                l++;
            }

            return Task.FromResult(new Lsn(l));
        }
    }

    public Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
