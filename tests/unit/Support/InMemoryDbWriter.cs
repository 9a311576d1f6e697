using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Unit.Tests.Support;

/// <summary>The product's in-memory <see cref="IDbWriter"/> (the in-memory mode) with fault injection for pipeline tests.</summary>
/// <remarks>Every rule is the product's (DbWriters.CreateInMemory, which decides with ApplyRules as the SQLite and MongoDB
/// writers do, and keeps request outcomes as the SQLite store's _nv_requests does); only the faults are added here.</remarks>
internal sealed class InMemoryDbWriter : IDbWriter
{
    private readonly IDbWriter _store = DbWriters.CreateInMemory();

    /// <summary>While true, every ApplyAsync returns Transient.</summary>
    public volatile bool Unavailable;

    public int ApplyCalls;

    /// <summary>The largest number of resolutions one GetResolutionsAsync call asked for.</summary>
    public int LargestResolutionsRead;

    /// <summary>When set, every ApplyAsync waits for it first (a slow or stuck database).</summary>
    public volatile Task? ApplyGate;

    /// <summary>When set, ApplyAsync throws it (a corrupt store, a bug).</summary>
    public volatile Exception? ApplyFailure;

    /// <summary>When set, reads of the entity <see cref="ReadGateEntity"/> wait for it first.</summary>
    public volatile Task? ReadGate;

    /// <inheritdoc cref="ReadGate"/>
    public volatile string? ReadGateEntity;

    /// <summary>When set, every request-id lookup waits for it first (a slow store under the commit stage's lookup).</summary>
    public volatile Task? LookupGate;

    /// <summary>While true, request-id lookups return outcomes without a failed item or record id, as a store written
    /// before it kept them does (the answer then needs the record's resolution).</summary>
    public volatile bool OutcomesWithoutAnswers;

    /// <summary>When set, request-id lookups throw it.</summary>
    public volatile Exception? LookupFailure;

    /// <summary>When set, reads of stored resolutions fail with it.</summary>
    public volatile Exception? ResolutionsFailure;

    /// <summary>When set, <see cref="BatchesUnsupportedReason"/> returns it (a store that cannot take batches).</summary>
    public volatile string? BatchesUnsupported;

    public string? BatchesUnsupportedReason => BatchesUnsupported;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => _store.InitializeAsync(cancellationToken);

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

        Interlocked.Increment(ref ApplyCalls);
        if (Unavailable)
        {
            return [.. batch.Select(r => new ApplyResult { Lsn = r.Lsn, Status = ApplyStatus.Transient, Error = "db down" })];
        }

        return await _store.ApplyAsync(batch, cancellationToken);
    }

    public async Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        if (ReadGate is { } gate && entityId == ReadGateEntity)
        {
            await gate.WaitAsync(cancellationToken);
        }

        return await _store.GetAsync(dtoType, entityId, cancellationToken);
    }

    public Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default)
    {
        InterlockedMax(ref LargestResolutionsRead, limit);
        return ResolutionsFailure is { } failure
            ? Task.FromException<IReadOnlyList<RecordResolution>>(failure)
            : _store.GetResolutionsAsync(after, limit, cancellationToken);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    // The single lookup is the batched one with one id, as in the real writers (first record by LSN, LookupFailure).
    public async Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default) =>
        (await FindByRequestIdsAsync([requestId], cancellationToken)).GetValueOrDefault(requestId);

    public Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default) =>
        LookupFailure is { } failure
            ? Task.FromException<IReadOnlyDictionary<string, RecordResolution>>(failure)
            : _store.FindByRequestIdsAsync(requestIds, cancellationToken);

    public async Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys, CancellationToken cancellationToken = default)
    {
        if (LookupGate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        var found = LookupFailure is { } failure ? throw failure : await _store.FindRequestsAsync(keys, cancellationToken);
        return OutcomesWithoutAnswers ? found.ToDictionary(p => p.Key, p => p.Value with { FailedItem = null, RecordId = null }) : found;
    }

    public Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) =>
        _store.PurgeRequestsAsync(createdBefore, cancellationToken);

    /// <summary>Forgets every resolution (as WAL truncation's purge does), keeping the request outcomes.</summary>
    public void PurgeAllResolutions() => _store.PurgeAsync(new Lsn(long.MaxValue)).GetAwaiter().GetResult();

    public Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default) => _store.GetResolvedThroughAsync(cancellationToken);

    public Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default) => _store.PurgeAsync(upTo, cancellationToken);

    public ValueTask DisposeAsync() => _store.DisposeAsync();
}
