namespace Nv.Audit;

/// <summary>Append-only store of audit entries with a per-service SHA-256 hash chain.</summary>
/// <remarks>There is no update or delete. Appending an entry whose id is already stored is a no-op (idempotent
/// backfill). Errors are never swallowed: the caller decides (the pipeline logs a WARN and leaves the record
/// unaudited for the backfill). One writer appends at a time.</remarks>
public interface IAuditSink : IAsyncDisposable
{
    /// <summary>Creates tables/collections, indexes and immutability guards if missing.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Appends entries in order, assigning sequence and hashes, in one durable batch; skips ids already stored.</summary>
    /// <returns>The number of entries actually inserted.</returns>
    Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>Which of <paramref name="ids"/> are stored.</summary>
    Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default);

    /// <summary>One entry by id, or null.</summary>
    Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>Entries matching a filter, one page at a time.</summary>
    Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>Recomputes every chain and reports the first broken entry.</summary>
    Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default);
}
