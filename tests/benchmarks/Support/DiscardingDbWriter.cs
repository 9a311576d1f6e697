using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Benchmarks.Support;

/// <summary>A database that reports every record applied at no cost and stores nothing: <c>bench bounds</c> uses it
/// to measure the WAL path alone (validation, request-id cache, append, group-commit fsync, reply). Never a product
/// configuration.</summary>
internal sealed class DiscardingDbWriter : IDbWriter
{
    private static readonly IReadOnlyDictionary<string, RecordResolution> NoResolutions = new Dictionary<string, RecordResolution>();

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default)
    {
        var results = new ApplyResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            results[i] = new ApplyResult { Lsn = batch[i].Lsn, Status = ApplyStatus.Applied, After = batch[i].Payload };
        }

        return Task.FromResult<IReadOnlyList<ApplyResult>>(results);
    }

    public Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default) =>
        Task.FromResult<StoredEntity?>(null);

    public Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<RecordResolution>>([]);

    public Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default) =>
        Task.FromResult<RecordResolution?>(null);

    public Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default) =>
        Task.FromResult(NoResolutions);

    public Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys, CancellationToken cancellationToken = default) =>
        Task.FromResult(NoRequests);

    public Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) => Task.FromResult(0L);

    private static readonly IReadOnlyDictionary<RequestKey, RequestOutcome> NoRequests = new Dictionary<RequestKey, RequestOutcome>();

    public Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default) => Task.FromResult(Lsn.None);

    public Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
