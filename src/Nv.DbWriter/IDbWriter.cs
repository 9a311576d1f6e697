using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>Applies WAL records to the database, idempotently and in LSN order.</summary>
/// <remarks>
/// Idempotence follows PostgreSQL's page-LSN rule: each stored entity carries the LSN, replay key and WAL id of the
/// record that last wrote it, and a record is applied only if the stored LSN is lower. Deletes leave a tombstone that
/// keeps the LSN. Each record's outcome is stored in the same transaction as its write (<see cref="RecordResolution"/>),
/// so re-applying a resolved record returns its first outcome; so is its request's outcome (<see cref="RequestOutcome"/>,
/// keyed by caller and request id, first record wins), which outlives the WAL for the idempotency retention window. A
/// batch is one transaction; results are returned only after it is committed (durable against a process crash; see
/// <see cref="MakeDurableAsync"/> for power loss). Not thread-safe for concurrent <see cref="ApplyAsync"/> calls: one
/// applier owns it.
/// </remarks>
public interface IDbWriter : IAsyncDisposable
{
    /// <summary>Creates tables/collections and indexes if missing.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Applies a batch of records (ascending LSN) and returns one result per record, in the same order.</summary>
    /// <remarks>A transient failure makes every result of the batch <see cref="ApplyStatus.Transient"/> and commits nothing.
    /// A <see cref="WalOperation.Batch"/> record is applied all-or-nothing (<see cref="ApplyResult.FailedItem"/> names the
    /// item that rejected it; <see cref="ApplyResult.Items"/> has each item's images when it applied).
    /// The applier passes every record the WAL holds, in LSN order across calls too (a transient batch is passed again
    /// before anything after it): an LSN a call skips, between two of its records or between the highest LSN passed
    /// before (or the store's watermark) and its first, was never in the WAL (a record a recovery mode skipped, or LSNs
    /// an accepted loss continued above), and a store may count it resolved.</remarks>
    Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default);

    /// <summary>The live entity, or null when it does not exist or is deleted.</summary>
    Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default);

    /// <summary>The stored outcomes of records with LSN in (<paramref name="after"/>, <paramref name="after"/> + <paramref name="limit"/>], ascending.</summary>
    Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default);

    /// <summary>The stored outcome of the first record carrying <paramref name="requestId"/>, or null.</summary>
    Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>For each of <paramref name="requestIds"/> that has one, the stored outcome of the first record carrying it.</summary>
    /// <remarks>One round trip for the whole list. The SQLite store finds a record through its request's outcome (see
    /// <see cref="FindRequestsAsync"/>), so once <see cref="PurgeRequestsAsync"/> removed that, its resolution is found by LSN
    /// only (<see cref="GetResolutionsAsync"/>).</remarks>
    Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default);

    /// <summary>For each of <paramref name="keys"/> that has one, the stored outcome of its request (see <see cref="RequestOutcome"/>).</summary>
    /// <remarks>Outcomes are written in the same transaction as the records they describe and survive WAL truncation and
    /// resolution purges until <see cref="PurgeRequestsAsync"/> removes them. A key also matches an outcome recorded before
    /// request ids were scoped (null <see cref="RequestOutcome.Scope"/>) when it has none of its own. One round trip per
    /// batch: the pipeline's commit stage checks every request it has not seen in memory this way.</remarks>
    Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys, CancellationToken cancellationToken = default);

    /// <summary>Whether the store may hold an outcome for <paramref name="key"/>'s request: false only when it certainly
    /// holds none. Answered from memory (a filter of the request ids the store holds), never from the store.</summary>
    /// <remarks>The commit stage asks it when <see cref="FindRequestsAsync"/> fails: a request the store cannot know is new
    /// and is appended to the WAL even while the store is down; one it may know is refused rather than risk applying a
    /// retry twice. The default answers true (every request may be known).</remarks>
    bool MightHoldRequest(RequestKey key) => true;

    /// <summary>Deletes the request outcomes created before <paramref name="createdBefore"/> (the retention window's start).</summary>
    /// <returns>How many were deleted.</returns>
    Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default);

    /// <summary>The highest LSN such that every record at or below it has a stored resolution (committed).</summary>
    /// <remarks>Read from the store itself, where it is written atomically with the data: after a crash or a power
    /// loss it says exactly what the store holds, so boot replay starts after it.</remarks>
    Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default);

    /// <summary>The highest LSN the store holds anything of: at least <see cref="GetResolvedThroughAsync"/>, and also every
    /// outcome stored but not yet counted by it (a gap below it, MongoDB's pending and unrecorded outcomes, an erasure in
    /// progress).</summary>
    /// <remarks>Boot compares it with the WAL: a WAL that ends below it lost records the store holds, and its LSNs must not
    /// be issued again (the host refuses to start, or, when the operator accepts the loss, the WAL continues above it). The
    /// default is <see cref="GetResolvedThroughAsync"/>, right for a store that holds nothing past its watermark.</remarks>
    Task<Lsn> GetHighestLsnHeldAsync(CancellationToken cancellationToken = default) => GetResolvedThroughAsync(cancellationToken);

    /// <summary>Checks, before a record is appended to the WAL, that this writer can store <paramref name="payload"/> as a
    /// document of <paramref name="dtoType"/> (the pipeline refuses the request with 400/413 when it cannot).</summary>
    /// <remarks>Pure and side-effect free; called on the caller's thread for every create and update. A record that
    /// reached the WAL anyway (written under other limits, or by another writer) is rejected at apply time with
    /// <see cref="RejectReason.Unstorable"/>, never retried. The default has no limits beyond the pipeline's.</remarks>
    /// <param name="dtoType">The (validated) entity type.</param>
    /// <param name="payload">The (validated, normalized) JSON object payload.</param>
    /// <returns>Null when the writer can store it; otherwise why not.</returns>
    DbWriterRefusal? CheckStorable(string dtoType, JsonElement payload) => null;

    /// <summary>Checks, before a record is appended to the WAL, that this writer can hold entities of
    /// <paramref name="dtoType"/> beside the types it already stores (the pipeline refuses the request with 400 when it
    /// cannot): the SQLite store refuses a type whose name differs only in case from a stored one.</summary>
    /// <remarks>Called for every create, update, delete and erasure (and batch item); a request whose id already has an
    /// outcome is answered with it instead of this refusal. A record that reached the WAL anyway (two new spellings
    /// appended at once, or a WAL written before this check) is rejected at apply time with
    /// <see cref="RejectReason.Unstorable"/>, never retried. May be called before <see cref="InitializeAsync"/> (a tool's
    /// check before it starts the host): then it must only read, creating or changing nothing. The default accepts every
    /// type.</remarks>
    /// <returns>Null when the writer can store it; otherwise why not.</returns>
    DbWriterRefusal? CheckDtoType(string dtoType) => null;

    /// <summary>A durable point: makes every committed batch survive a power loss and returns the resolved-through LSN
    /// it covers (also recorded inside the store).</summary>
    /// <remarks>Stores that commit durably (MongoDB with <c>j:true</c>) have nothing to do. The embedded SQLite store
    /// commits with <c>synchronous=NORMAL</c> (a commit survives a process crash, not a power loss) and syncs here.
    /// Only LSNs returned by this method may move the WAL's applied watermark, truncation and purges.</remarks>
    Task<Lsn> MakeDurableAsync(CancellationToken cancellationToken = default) => GetResolvedThroughAsync(cancellationToken);

    /// <summary>Why this store cannot apply <see cref="WalOperation.Batch"/> records atomically, or null when it can
    /// (MongoDB needs a replica set for multi-document transactions; a standalone server refuses batches).</summary>
    string? BatchesUnsupportedReason => null;

    /// <summary>Deletes resolutions and tombstones at or below <paramref name="upTo"/> (called after WAL truncation).</summary>
    /// <remarks>Never purges past <see cref="GetResolvedThroughAsync"/> (a larger <paramref name="upTo"/> is clamped to it) and
    /// never moves it back. A purged record applied again is <see cref="ApplyStatus.AlreadyApplied"/> with no before image.</remarks>
    Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default);
}
