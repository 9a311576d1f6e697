using Nv.Audit;

namespace Nv.Benchmarks.Support;

/// <summary>An audit store that accepts every entry at no cost and keeps nothing: <c>bench bounds</c> uses it to
/// measure what the rest of the pipeline could do if the audit append were free. Never a product configuration.</summary>
internal sealed class DiscardingAuditSink : IAuditSink
{
    private static readonly IReadOnlySet<Guid> None = new HashSet<Guid>();

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) =>
        Task.FromResult(entries.Count);

    public Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default) =>
        Task.FromResult(None);

    public Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        Task.FromResult<AuditEntry?>(null);

    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
        Task.FromResult(new AuditPage([], null));

    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The discarding audit sink keeps nothing to verify.");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
