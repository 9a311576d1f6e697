using Nv.Audit;

namespace Nv.Host.Pipeline;

/// <summary>What a service uses Nv through, in process: writes (validate → WAL append → WAL flush → database apply →
/// audit), reads of entities, and audit queries.</summary>
/// <remarks>
/// Registered by <c>services.AddNv()</c> as a singleton; thread-safe. Concurrent writers are batched end to end (one WAL
/// sync, one database transaction and one audit batch per batch) while each caller gets its own outcome.
/// Every failure is an <see cref="NvException"/> (or a standard argument exception for misuse), each carrying
/// <see cref="NvException.IsTransient"/>:
/// <list type="bullet">
/// <item><see cref="WriteValidationException"/>: the request is invalid; nothing was written.</item>
/// <item><see cref="PipelineUnavailableException"/>: boot replay has not finished, Nv is stopping, or a stage failed; its
/// <see cref="PipelineUnavailableException.DurableLsn"/> says whether the write is durable anyway.</item>
/// <item><see cref="Nv.Wal.WalFaultedException"/>: the WAL failed; the write was not acknowledged and Nv takes no more writes.</item>
/// <item><see cref="Nv.DbWriter.DbWriterException"/> (reads, outcome lookups): the database failed; transient when it is
/// merely unavailable.</item>
/// <item><see cref="AuditUnavailableException"/> (audit queries): the audit store could not answer.</item>
/// </list>
/// A transient database failure during a write is not an exception: the write is durable and answered
/// <see cref="WriteStatus.Pending"/> (the background applier retries). An audit store failure never fails a write (a
/// WARN is logged and a backfill writes the entry later).
/// </remarks>
public interface IWritePipeline
{
    /// <summary>Whether boot replay has finished and writes are accepted.</summary>
    bool IsReady { get; }

    /// <summary>Completes when boot replay has finished and writes are accepted; faults with the cause when the start
    /// failed (the WAL could not be recovered, a store could not be opened).</summary>
    Task WhenReadyAsync(CancellationToken cancellationToken = default);

    /// <summary>The outcome of an earlier write, by request id: applied or rejected once the database decided it,
    /// <see cref="WriteStatus.Accepted"/> while it is durable but not applied yet, null when the id is unknown (never
    /// written, or forgotten). An applied erasure's outcome carries <see cref="WriteOutcome.Erasure"/>, the counts its
    /// own answer gave (read from the erasure's record).</summary>
    /// <param name="requestId">The request id.</param>
    /// <param name="userId">The caller the id belongs to (request ids are scoped to their caller: the API key's name, or
    /// the user id when authentication is off).</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <exception cref="PipelineUnavailableException">Boot replay has not finished: a write made durable before a crash is
    /// known again only once replay applied it, so no answer is given before (retry once ready).</exception>
    Task<WriteOutcome?> GetOutcomeAsync(string requestId, string? userId, CancellationToken cancellationToken = default);

    /// <summary>Writes one mutation and returns at the request's <see cref="AckLevel"/> (default: once the database decided).</summary>
    /// <exception cref="WriteValidationException">The request is invalid; nothing was written.</exception>
    /// <exception cref="Nv.Wal.WalFaultedException">The WAL failed; the write was not acknowledged.</exception>
    /// <exception cref="PipelineUnavailableException">The pipeline is not ready (boot replay running), is stopping, or failed.</exception>
    /// <exception cref="SubjectPendingException">Encryption at rest, a delete of a type mapped to another subject while a
    /// write of the entity that names another subject is not applied yet; nothing was written: retry shortly.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The request id was used before for a different request; nothing was
    /// written (HTTP answers 422).</exception>
    /// <exception cref="RequestInProgressException">A request with this id is still being decided; retry shortly (HTTP 409).</exception>
    /// <exception cref="OperationCanceledException">The caller's token was cancelled while waiting. This does not mean
    /// nothing was written: a write already queued may still be appended and applied. Retry with the same request id to
    /// learn its outcome (<see cref="GetOutcomeAsync"/>).</exception>
    Task<WriteOutcome> WriteAsync(WriteRequest request, CancellationToken cancellationToken = default);

    /// <summary>Erases a data subject (crypto-shredding): destroys every data key its payloads were sealed with, in the
    /// WAL and in the audit trail, deletes its live entities, and records an audit entry of category
    /// <c>data-erasure</c> that holds no personal data. Returns once the erasure is applied, audited, made durable and
    /// scrubbed from the store's files; <see cref="WriteOutcome.Erasure"/> says how many keys it destroyed and live
    /// entities it deleted (both zero: nothing was found to erase, and <see cref="WriteOutcome.Detail"/> says so).</summary>
    /// <remarks>The hash chain and the Merkle tree commit to the ciphertext, so every proof, erased entries' included,
    /// still verifies; reads of erased entries show their data as erased. Idempotent by request id; a crash at any step
    /// converges on restart (the erasure is a WAL record, replayed like any write). Needs encryption at rest
    /// (<c>Nv:Encryption</c>): without it the subject's data is stored in plain text and cannot be shredded.</remarks>
    /// <exception cref="WriteValidationException">The request is invalid, or encryption at rest is off; nothing was written.</exception>
    /// <exception cref="Nv.Wal.WalFaultedException">The WAL failed; the erasure was not acknowledged.</exception>
    /// <exception cref="PipelineUnavailableException">The pipeline is not ready, is stopping, or failed.</exception>
    Task<WriteOutcome> EraseAsync(EraseRequest request, CancellationToken cancellationToken = default);

    /// <summary>The entity's current state, or null when it does not exist or is deleted.</summary>
    /// <remarks>Reads the database: a write answered <see cref="WriteStatus.Applied"/> on this host is visible; one answered
    /// <see cref="WriteStatus.Accepted"/> or <see cref="WriteStatus.Pending"/> may not be yet.</remarks>
    /// <exception cref="ArgumentException">The type or id is malformed (see <see cref="WriteRequest.DtoType"/>, <see cref="WriteRequest.EntityId"/>).</exception>
    /// <exception cref="PipelineUnavailableException">Boot replay has not finished.</exception>
    /// <exception cref="Nv.DbWriter.DbWriterException">The database failed (transient when it is unavailable).</exception>
    Task<EntitySnapshot?> ReadAsync(string dtoType, string entityId, CancellationToken cancellationToken = default);

    /// <summary>The audit trail of one entity (its create, update and delete entries, with before/after images and field
    /// changes), newest first, one page at a time.</summary>
    /// <param name="dtoType">Entity type.</param>
    /// <param name="entityId">Entity id.</param>
    /// <param name="cursor">The previous page's <see cref="AuditPage.NextCursor"/>; null for the first page.</param>
    /// <param name="limit">Page size, 1 to 1000.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <remarks>An entry follows its write off the caller's path; write with <see cref="AckLevel.Audited"/> to read it right after.</remarks>
    /// <exception cref="ArgumentException">A malformed type, id, cursor or limit.</exception>
    /// <exception cref="PipelineUnavailableException">Boot replay has not finished.</exception>
    /// <exception cref="AuditUnavailableException">The audit store could not answer.</exception>
    Task<AuditPage> GetHistoryAsync(string dtoType, string entityId, string? cursor = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>Every audit entry caused by one request id, oldest first (usually one).</summary>
    /// <exception cref="ArgumentException">The request id is empty.</exception>
    /// <exception cref="PipelineUnavailableException">Boot replay has not finished.</exception>
    /// <exception cref="AuditUnavailableException">The audit store could not answer.</exception>
    Task<IReadOnlyList<AuditEntry>> GetAuditByRequestAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>Searches the audit trail: every set field of <paramref name="query"/> must match; one page at a time.</summary>
    /// <exception cref="ArgumentException">A cursor this API did not return, or a limit outside 1 to 1000.</exception>
    /// <exception cref="PipelineUnavailableException">Boot replay has not finished.</exception>
    /// <exception cref="AuditUnavailableException">The audit store could not answer.</exception>
    Task<AuditPage> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>Writes several entities atomically: one WAL record, one database transaction, all items or none; returns at
    /// the request's <see cref="AckLevel"/> like <see cref="WriteAsync"/>.</summary>
    /// <remarks>Any failed precondition or conflict rejects the whole batch (<see cref="BatchOutcome.FailedItem"/> names the
    /// item); every entity written gets the batch's LSN as its version, and its own audit entry carrying the request id.</remarks>
    /// <exception cref="WriteValidationException">The batch is invalid or too large; nothing was written.</exception>
    /// <exception cref="BatchesNotSupportedException">The store cannot apply batches atomically; nothing was written.</exception>
    /// <exception cref="Nv.Wal.WalFaultedException">The WAL failed; the batch was not acknowledged.</exception>
    /// <exception cref="SubjectPendingException">Encryption at rest, an item deletes an entity of a type mapped to another
    /// subject while a write of that entity that names another subject is not applied yet; nothing was written: retry
    /// shortly.</exception>
    /// <exception cref="PipelineUnavailableException">The pipeline is not ready (boot replay running), is stopping, or failed.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The request id was used before for a different request; nothing was written.</exception>
    /// <exception cref="OperationCanceledException">As for <see cref="WriteAsync"/>: a batch already queued may still be written.</exception>
    Task<BatchOutcome> WriteBatchAsync(BatchRequest request, CancellationToken cancellationToken = default);
}
