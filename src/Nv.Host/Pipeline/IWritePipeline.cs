namespace Nv.Host.Pipeline;

/// <summary>The durable write path: validate → WAL append → WAL flush → database apply → audit → reply.</summary>
/// <remarks>
/// Thread-safe; concurrent callers are batched end to end (one WAL sync, one database transaction and one audit batch
/// per batch) while each caller gets its own outcome. Failure semantics:
/// invalid input throws <see cref="WriteValidationException"/> before anything is written;
/// a WAL failure throws <see cref="Nv.Wal.WalFaultedException"/> and the pipeline stops accepting writes;
/// a transient database failure returns <see cref="WriteStatus.Pending"/> (the record is durable and is retried in the background);
/// an audit failure never fails the write (a WARN is logged and a backfill writes the entry later).
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
    /// written, or forgotten).</summary>
    /// <param name="requestId">The request id.</param>
    /// <param name="userId">The caller the id belongs to (request ids are scoped to their caller: the API key's name, or
    /// the user id when authentication is off).</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    Task<WriteOutcome?> GetOutcomeAsync(string requestId, string? userId, CancellationToken cancellationToken = default);

    /// <summary>Writes one mutation and returns at the request's <see cref="AckLevel"/> (default: once the database decided).</summary>
    /// <exception cref="WriteValidationException">The request is invalid; nothing was written.</exception>
    /// <exception cref="Nv.Wal.WalFaultedException">The WAL failed; the write was not acknowledged.</exception>
    /// <exception cref="InvalidOperationException">The pipeline is not ready (boot replay running) or is stopping.</exception>
    Task<WriteOutcome> WriteAsync(WriteRequest request, CancellationToken cancellationToken = default);
}
