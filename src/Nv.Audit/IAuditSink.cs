using Nv.Wal;

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

    /// <summary>Appends entries as <see cref="AppendAsync(IReadOnlyList{AuditEntry}, CancellationToken)"/> does and records,
    /// in the same transaction, that every applied WAL record at or below <paramref name="auditedThrough"/> has its entry.</summary>
    /// <remarks>Stores that record the audited position keep it atomically with the entries, so after a crash or a power
    /// loss it says exactly what the store holds (<see cref="GetAuditedThroughAsync"/>).</remarks>
    /// <returns>The number of entries actually inserted.</returns>
    Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, Lsn auditedThrough, CancellationToken cancellationToken = default) =>
        AppendAsync(entries, cancellationToken);

    /// <summary>The audited position recorded in the store (see <see cref="AppendAsync(IReadOnlyList{AuditEntry}, Lsn, CancellationToken)"/>),
    /// or null when this store does not record one or has none yet.</summary>
    Task<Lsn?> GetAuditedThroughAsync(CancellationToken cancellationToken = default) => Task.FromResult<Lsn?>(null);

    /// <summary>A durable point: makes every committed append survive a power loss; returns the audited position it covers
    /// (null when the store does not record one).</summary>
    /// <remarks>Stores that commit durably have nothing to do. The embedded SQLite store appends with
    /// <c>synchronous=NORMAL</c> and syncs here; it also syncs before signing a checkpoint, so a signed checkpoint never
    /// covers an entry a power loss could take back.</remarks>
    Task<Lsn?> MakeDurableAsync(CancellationToken cancellationToken = default) => GetAuditedThroughAsync(cancellationToken);

    /// <summary>Before a long append (boot replay): lets the store append about <paramref name="entries"/> entries without
    /// keeping its query indexes up, to build them once in bulk by <see cref="BuildIndexesAsync"/>. Reads still answer
    /// meanwhile, only slower.</summary>
    /// <returns>Whether the store deferred any index (stores that cannot, or when deferring would not pay, return false).</returns>
    Task<bool> DeferIndexesAsync(long entries, CancellationToken cancellationToken = default) => Task.FromResult(false);

    /// <summary>Builds every query index the store lacks: those <see cref="DeferIndexesAsync"/> deferred, or that a run
    /// stopped mid-replay left missing. Nothing to do when none is missing. May run while entries are appended (the host
    /// retries a failed build from its maintenance loop): a store that blocks appends while it builds should do so for one
    /// index at a time, and one that shares a disk with the WAL should not start a build it has no room for.</summary>
    Task BuildIndexesAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>The values the last run recorded with <see cref="SetRunEnvironmentAsync"/> (environment, service name, writer
    /// kind, signing key id, version...), or null when none are recorded (a new store, or a store that does not keep them:
    /// the host then compares with the newest service-start entry).</summary>
    /// <remarks>Kept apart from the entries because retention may prune the last service-start entry of a long run.</remarks>
    Task<IReadOnlyDictionary<string, string>?> GetRunEnvironmentAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<string, string>?>(null);

    /// <summary>Records this run's values for the next start to compare with (replacing the last run's).</summary>
    Task SetRunEnvironmentAsync(IReadOnlyDictionary<string, string> values, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Which of <paramref name="ids"/> are stored.</summary>
    Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default);

    /// <summary>One entry by id, or null.</summary>
    Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>Entries matching a filter, one page at a time.</summary>
    Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>Recomputes every chain and reports the first broken entry.</summary>
    Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default);
}
