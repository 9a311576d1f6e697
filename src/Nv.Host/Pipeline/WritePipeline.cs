using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The staged, batching write pipeline: commit (WAL append + one group commit per batch) → apply (one database
/// transaction per chunk) → audit (one audit batch, off the caller's path) → durable points.</summary>
/// <remarks>
/// Each stage is one loop on its own task, so batch k+1 is being fsynced while batch k is applied and earlier ones are
/// audited. Only the commit loop appends, so a batch's LSNs are contiguous and the apply loop sees records in LSN order.
/// Callers are answered by the stage their <see cref="AckLevel"/> names: <see cref="AckLevel.Durable"/> when the WAL
/// group commit completed, <see cref="AckLevel.Applied"/> after the database commit, <see cref="AckLevel.Audited"/>
/// after the audit batch. The WAL fsync is the only durable commit on a caller's path: the stores commit with
/// <c>synchronous=NORMAL</c> and a separate loop makes them durable every <see cref="PipelineOptions.DurablePointInterval"/>;
/// only those durable positions move the WAL's watermarks (truncation, purges).
/// Failure policy (DESIGN.md): a WAL failure faults the pipeline for good (no retry, nothing acknowledged); a transient
/// database failure answers the waiting callers Pending and retries the same records with backoff, in order; audit
/// failures are the <see cref="AuditCoordinator"/>'s business and never fail a write; any other failure of a stage (a
/// bug, a corrupt store) faults the pipeline: CRITICAL, readiness false, every waiting caller answered (with its LSN when
/// the record is durable), and the host is stopped with a non-zero exit code unless
/// <see cref="PipelineOptions.StopHostOnFault"/> is off.
/// </remarks>
internal sealed partial class WritePipeline : IWritePipeline, IAsyncDisposable
{
    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly AuditCoordinator _audit;
    private readonly PipelineOptions _options;
    private readonly RequestValidator _validator;
    private readonly BatchValidator _batchValidator;
    private readonly RequestIdCache _requests;
    private readonly PipelinePositions _positions;
    private readonly LagGate _lag;
    private readonly Protection.KeyRing _keys;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<PendingWrite> _incoming;
    private readonly Channel<CommittedBatch> _committed;
    private readonly Channel<AppliedChunk> _applied;
    private readonly ConcurrentDictionary<PendingWrite, byte> _inFlight = new(ReferenceEqualityComparer.Instance);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _draining = new(); // cancelled first by a stop: interrupts an index build (its index rolls back whole)
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task[] _loops = [];
    private Exception? _fault;
    private string? _walFull; // why writes are refused for the WAL's size, or null
    private int _started;
    private int _stopRequested; // set before the incoming channel closes: from then on a write is refused as "stopping"

    public WritePipeline(
        IWriteAheadLog wal,
        IDbWriter db,
        AuditCoordinator audit,
        IOptions<PipelineOptions> options,
        ILogger<WritePipeline> logger,
        TimeProvider? time = null,
        PipelinePositions? positions = null,
        Protection.KeyRing? keys = null)
    {
        _wal = wal;
        _db = db;
        _keys = keys ?? new Protection.KeyRing(new Protection.EncryptionOptions(), store: null, logger: null, master: null);
        _audit = audit;
        _options = options.Value;
        _validator = new RequestValidator(_options);
        _batchValidator = new BatchValidator(_options, _validator);
        _requests = new RequestIdCache(_options.RequestIdCacheSize);
        _positions = positions ?? audit.Positions;
        _lag = new LagGate(_positions, _options, () => _audit.HasGap);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _incoming = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(16 * _options.MaxBatchSize)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // Unbounded between the stages: the backlogs are bounded by the lag gate (MaxLag), so a slow audit store holds new
        // writes instead of stalling the apply stage and with it every caller waiting for Applied.
        _committed = Channel.CreateUnbounded<CommittedBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _applied = Channel.CreateUnbounded<AppliedChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    }

    /// <inheritdoc />
    public bool IsReady => Volatile.Read(ref _started) == 1 && Volatile.Read(ref _fault) is null && Volatile.Read(ref _stopRequested) == 0;

    /// <inheritdoc />
    public Task WhenReadyAsync(CancellationToken cancellationToken = default) => _ready.Task.WaitAsync(cancellationToken);

    /// <summary>Why the pipeline stopped accepting writes, if it did.</summary>
    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>Where the stages stand (backlogs, durable positions).</summary>
    public PipelinePositions Positions => _positions;

    /// <summary>Why new writes are held by backpressure now, or null.</summary>
    public string? Backpressure => _lag.Reason;

    /// <summary>Writes that had to wait for a backlog to drain, since start.</summary>
    public long BackpressureWaits => _lag.Waits;

    /// <summary>Raised once when a stage fails unexpectedly (after every waiting caller was answered).</summary>
    public event Action<Exception>? Faulted;

    /// <summary>Tests only: called by the commit stage's key assignment once every write of its batch has its key (an erasure:
    /// announced to the key ring) and before the batch is appended; an exception it returns is thrown there, as a key store
    /// or a stop would raise it (fault injection of a cancellation at that point, which no real store produces on demand).</summary>
    internal Func<Exception?>? InjectKeyAssignmentFailure { get; set; }

    /// <summary>Tests only: called by the commit stage before it appends each write of its batch (after the key assignment
    /// handed the batch over), with the write's operation; an exception it returns is thrown there, as a stop's cancellation
    /// or a WAL fault would raise it from the append.</summary>
    internal Func<WalOperation, Exception?>? InjectAppendFailure { get; set; }

    /// <summary>Records that the start failed (boot replay or a store), so <see cref="WhenReadyAsync"/> callers learn why.</summary>
    public void FailStart(Exception exception) => _ready.TrySetException(exception);

    /// <summary>Starts the stage loops. Called once boot replay has finished.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            return;
        }

        var token = _stopping.Token;
        _loops =
        [
            RunStage("commit", () => CommitLoopAsync(token)),
            RunStage("apply", () => ApplyLoopAsync(token)),
            RunStage("audit", () => AuditLoopAsync(token)),
            RunStage("durable-point", () => DurablePointLoopAsync(token)),
            Task.Run(() => BackfillLoopAsync(token), CancellationToken.None),
            Task.Run(() => MaintenanceLoopAsync(token), CancellationToken.None),
        ];
        _ready.TrySetResult();
    }

    /// <inheritdoc />
    public async Task<WriteOutcome> WriteAsync(WriteRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Operation == WalOperation.Erase)
        {
            throw new WriteValidationException("operation", "must be create, update or delete (an erasure goes through EraseAsync)");
        }

        return await WriteOrEraseAsync(request, cancellationToken);
    }

    private async Task<WriteOutcome> WriteOrEraseAsync(WriteRequest request, CancellationToken cancellationToken)
    {
        var ack = request.Ack ?? _options.Ack;
        using var activity = NvActivities.StartWrite(request, ack);
        try
        {
            var outcome = await WriteCoreAsync(request, ack, activity, cancellationToken);
            NvActivities.Answered(activity, outcome);
            return outcome;
        }
        catch (Exception ex)
        {
            NvActivities.Failed(activity, ex);
            throw;
        }
    }

    private async Task<WriteOutcome> WriteCoreAsync(WriteRequest request, AckLevel ack, System.Diagnostics.Activity? activity, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        _validator.Validate(request);
        var (prepared, otherSpelling) = PrepareForWal(request);

        return await SubmitCheckedAsync(new PendingWrite(prepared, ack) { Activity = activity, RetryOnly = otherSpelling is not null }, otherSpelling,
            cancellationToken);
    }

    // The common path of single writes and batches: a retried request id gets its first outcome, anything else waits for
    // backpressure and joins the commit stage's queue.
    private async Task<WriteOutcome> SubmitAsync(PendingWrite candidate, CancellationToken cancellationToken)
    {
        var owner = _requests.GetOrAdd(candidate);
        var started = _time.GetTimestamp();
        while (!ReferenceEquals(owner, candidate))
        {
            // The id is known in this process (in flight, durable but unapplied, or recently settled).
            if (string.Equals(owner.Fingerprint, candidate.Fingerprint, StringComparison.Ordinal))
            {
                if (await RetryOutcomeAsync(owner, started, cancellationToken) is { } outcome)
                {
                    return outcome;
                }

                // The first attempt left before the queue without an answer (its caller gave up): this retry is the
                // request now, as if the first attempt had never come.
                var taker = _requests.GetOrAdd(candidate);
                if (ReferenceEquals(taker, owner))
                {
                    throw new RequestInProgressException(owner.Request.RequestId, _options.RequestInProgressWait);
                }

                owner = taker;
                continue;
            }

            // A different request owns the id here. Once it is in the WAL, it is the id's first request. Before that, the
            // database may know the id from a first request the cache forgot: then the owner is refused for it, and this
            // candidate (that first request's retry, perhaps) is answered from the database in turn. Any other end of the
            // owner leaves the candidate refused as before (a batch built its items assuming the id was a retry's).
            var next = owner.Record is null && await RefusedAsTakenAsync(owner, started, cancellationToken) ? _requests.GetOrAdd(candidate) : owner;
            if (ReferenceEquals(next, owner))
            {
                if (owner.Record is null)
                {
                    ThrowIfUnavailable(); // the owner was ended by a stop or a fault, not by the id: that is the answer (503)
                }

                throw new IdempotencyKeyReusedException(candidate.Request.RequestId, Describe(owner.Request));
            }

            owner = next; // the refused owner is forgotten: this candidate, or a newer owner, has the id now
        }

        try
        {
            // Backpressure: a slow store makes writers wait here, before anything is written; nothing is refused.
            await _lag.EnterAsync(cancellationToken);
            _inFlight.TryAdd(candidate, 0);
            ThrowIfUnavailable();
            await _incoming.Writer.WriteAsync(candidate, cancellationToken);
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException or PipelineUnavailableException or WalFaultedException)
        {
            Done(candidate);
            _requests.Remove(candidate);
            candidate.MarkPlaced(false);
            ThrowIfUnavailable();
            throw;
        }

        return await candidate.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<WriteOutcome?> GetOutcomeAsync(string requestId, string? userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ThrowIfNotStarted(); // until boot replay has applied what the WAL holds, "unknown" would be a wrong answer
        var key = new RequestKey(userId ?? string.Empty, requestId);
        if (_requests.TryGet(key, out var write))
        {
            if (write.Final is { } final)
            {
                return await WithErasureAsync(final with { IsReplay = true }, write.Request.Operation, write.Request.DtoType, write.Request.EntityId,
                    cancellationToken);
            }

            if (write.Record is { } record && record.Lsn <= _wal.DurableLsn)
            {
                return new WriteOutcome
                {
                    RequestId = requestId,
                    Status = write.Completion.Task is { IsCompletedSuccessfully: true, Result.Status: WriteStatus.Pending } ? WriteStatus.Pending : WriteStatus.Accepted,
                    Lsn = record.Lsn,
                    Detail = "The write is durable in the WAL and not applied yet.",
                    IsReplay = true,
                };
            }
        }

        var stored = (await _db.FindRequestsAsync([key], cancellationToken)).GetValueOrDefault(key);
        return stored is null
            ? null
            : await WithErasureAsync(await FromStoredAsync(stored, cancellationToken), stored.Operation, stored.DtoType, stored.EntityId, cancellationToken);
    }

    /// <summary>The write the request-id cache remembers for <paramref name="key"/> (tests).</summary>
    internal bool TryGetRemembered(RequestKey key, out PendingWrite write) => _requests.TryGet(key, out write);

    // Whether a write that owns a request id in the cache was refused before the WAL because the database already holds
    // the id for another request. Waits until the commit stage is done with the owner (not for its answer), as a retry
    // waits, bounded by RequestInProgressWait (409 past it).
    private async Task<bool> RefusedAsTakenAsync(PendingWrite owner, long started, CancellationToken cancellationToken)
    {
        await WaitWithinAsync(Task.WhenAny(owner.Placed, owner.Completion.Task), owner, started, cancellationToken);
        return owner.Record is null && owner.Completion.Task is { IsFaulted: true, Exception.InnerException: IdempotencyKeyReusedException };
    }

    // Waits for what a request needs of the id's owner within what is left of its RequestInProgressWait: past it, the
    // request is told to come back (409), having written nothing.
    private async Task WaitWithinAsync(Task awaited, PendingWrite owner, long started, CancellationToken cancellationToken)
    {
        try
        {
            await awaited.WaitAsync(Left(started), _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new RequestInProgressException(owner.Request.RequestId, _options.RequestInProgressWait);
        }
    }

    // What is left of one RequestInProgressWait since started (a request waits that long in all, whatever owners it meets).
    private TimeSpan Left(long started)
    {
        var left = _options.RequestInProgressWait - _time.GetElapsedTime(started);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    // A retry waits for the first attempt (bounded: past RequestInProgressWait it is told to come back, 409), and gets its
    // outcome; a first attempt answered Pending may have been applied since, which the database's outcome tells.
    // Null when the first attempt left before the queue without an answer (its caller gave up in backpressure): then
    // nothing of it was written and the retry goes on as the request itself.
    private async Task<WriteOutcome?> RetryOutcomeAsync(PendingWrite first, long started, CancellationToken cancellationToken)
    {
        var answer = first.Completion.Task;
        await WaitWithinAsync(Task.WhenAny(answer, first.Placed), first, started, cancellationToken);
        if (!answer.IsCompleted && first.Placed is { IsCompletedSuccessfully: true, Result: false })
        {
            return null;
        }

        if (answer is { IsFaulted: true, Exception.InnerException: UnknownRetryException })
        {
            return null; // the first attempt was a batch built as a retry, refused as one: its answer is not this retry's
        }

        await WaitWithinAsync(answer, first, started, cancellationToken);
        var outcome = await answer;

        if (first.Final is { } final)
        {
            outcome = final;
        }
        else if (outcome.Status == WriteStatus.Pending)
        {
            var stored = (await _db.FindRequestsAsync([first.Key], cancellationToken)).GetValueOrDefault(first.Key);
            if (stored is not null)
            {
                outcome = await FromStoredAsync(stored, cancellationToken);
            }
        }

        return outcome with { IsReplay = true };
    }

    // The answer from a stored outcome, completed by the record's resolution when the outcome does not say (stored before
    // the store kept them): a rejected batch's failed item, an audit event's record id (its entry's id).
    private static WriteOutcome FromStored(RequestOutcome stored, RecordResolution? resolution)
    {
        var failedItem = stored.FailedItem ?? resolution?.FailedItem;
        return new()
        {
            RequestId = stored.RequestId,
            Status = stored.Status == ApplyStatus.Rejected ? WriteStatus.Rejected : WriteStatus.Applied,
            Lsn = stored.Lsn,
            RejectReason = stored.RejectReason,
            Detail = stored.Status == ApplyStatus.Rejected ? DescribeRejection(stored.RejectReason, failedItem) : null,
            IsReplay = true,
            FailedItem = failedItem,
            RecordId = stored.Operation == WalOperation.AuditEvent ? stored.RecordId ?? resolution?.WalId : null,
        };
    }

    // The request outcome keeps what every answer needs, a rejected batch's failed item and a custom audit event's record
    // id (its audit entry's id; the entry itself may not be in the trail yet: its audit failed and waits for the backfill)
    // included. An outcome stored before the stores kept those two lacks them: they are read from the record's stored
    // resolution then (while the WAL still holds the record; after that they are unknown: null). When that read fails the
    // answer leaves them unknown too: the outcome itself is known, and a store error here must not fail the commit stage
    // (it answers a whole batch of callers).
    private async Task<WriteOutcome> FromStoredAsync(RequestOutcome stored, CancellationToken cancellationToken)
    {
        RecordResolution? resolution = null;
        if (stored is { Status: ApplyStatus.Rejected, Operation: WalOperation.Batch, FailedItem: null }
            or { Status: ApplyStatus.Applied, Operation: WalOperation.AuditEvent, RecordId: null })
        {
            try
            {
                var resolutions = await _db.GetResolutionsAsync(new Lsn(stored.Lsn.Value - 1), 1, cancellationToken);
                resolution = resolutions.FirstOrDefault(r => r.Lsn == stored.Lsn);
            }
            catch (DbWriterException ex)
            {
                Log.FailedItemUnknown(_logger, ex, stored.RequestId, stored.Lsn.Value);
            }
        }

        return FromStored(stored, resolution);
    }

    private static string Describe(WriteRequest request) =>
        $"{(request.Fingerprint is null || request.Operation == WalOperation.AuditEvent ? RequestFingerprint.MethodOf(request.Operation) : "patch")} {request.DtoType}/{request.EntityId}";

    private static string Describe(RequestOutcome stored) => stored.Operation is { } operation
        ? $"{RequestFingerprint.MethodOf(operation)} {stored.DtoType}/{stored.EntityId}"
        : "an earlier request";

    internal static string DescribeRejection(RejectReason reason, int? failedItem = null)
    {
        var what = reason switch
        {
            RejectReason.AlreadyExists => "the entity already exists",
            RejectReason.NotFound => "the entity does not exist",
            RejectReason.PreconditionFailed => "the entity's version does not match the expected version",
            RejectReason.Unstorable => "the database cannot store this record (a value or size beyond its limits, or an id held by a document Nv did not write); the Nv log says which",
            _ => "rejected by the database",
        };
        return failedItem is { } item
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"batch item {item}: {what}; nothing of the batch was written")
            : what;
    }

    private void ThrowIfUnavailable()
    {
        switch (Volatile.Read(ref _fault))
        {
            case WalFaultedException wal:
                throw wal;
            case { } fault:
                throw new PipelineUnavailableException("Nv's write pipeline has failed and accepts no writes until the host is restarted: " + fault.Message, null, fault);
        }

        if (Volatile.Read(ref _started) == 0)
        {
            throw new PipelineUnavailableException("Nv is not ready: boot replay has not finished.", null);
        }

        if (Volatile.Read(ref _stopRequested) == 1 || _stopping.IsCancellationRequested)
        {
            throw new PipelineUnavailableException("Nv is stopping and accepts no new writes.", null);
        }

        if (Volatile.Read(ref _walFull) is { } full)
        {
            throw new PipelineUnavailableException(full, null);
        }
    }

    /// <summary>Stops accepting writes, lets in-flight batches finish, answers whatever could not, and stops the loops.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // First the flag, then the channel: a writer that finds the channel closed finds the flag set too, and is answered
        // as refused for the stop (PipelineUnavailableException), never with the channel's own exception.
        Volatile.Write(ref _stopRequested, 1);
        _incoming.Writer.TryComplete();
        await _draining.CancelAsync(); // an audit index build on a running host would keep the audit stage from draining
        try
        {
            await Task.WhenAll(_loops[..Math.Min(3, _loops.Length)]).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Log.PipelineStopTimedOut(_logger);
        }
        catch (Exception ex) when (Volatile.Read(ref _fault) is not null)
        {
            // A stage failed; it was reported when it happened.
            _ = ex;
        }

        await _stopping.CancelAsync();
        await Task.WhenAll(_loops).ContinueWith(static _ => { }, TaskScheduler.Default);
        AnswerEveryWaitingCaller("Nv stopped before this write was answered");
        if (Volatile.Read(ref _fault) is null && Volatile.Read(ref _started) == 1)
        {
            await MakeStoresDurableAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None);
        }

        _stopping.Dispose();
        _draining.Dispose();
    }

    // Every caller still waiting hears why: with its LSN when its record is durable (it will be applied and audited by
    // the next boot replay); when it was appended but not flushed, that its outcome is unknown (the WAL's close may still
    // make it durable); without when it never reached the WAL (nothing was written). A stage's failure is their inner
    // exception (the HTTP layer shows its callers a fixed message instead of the cause's text).
    private void AnswerEveryWaitingCaller(string why, Exception? cause = null)
    {
        var durable = _wal.DurableLsn;
        foreach (var write in _inFlight.Keys)
        {
            Done(write);
            if (write.Completion.Task.IsCompleted)
            {
                continue;
            }

            var lsn = write.Record is { } record && record.Lsn <= durable ? record.Lsn : (Lsn?)null;
            write.Fail(new PipelineUnavailableException(
                (lsn, write.Record) switch
                {
                    ({ } l, _) => $"{why}; it is durable in the WAL at LSN {l} and will be applied when Nv restarts.",
                    (null, { } appended) => $"{why}; its record reached the WAL at LSN {appended.Lsn} but was not made durable: it may "
                        + "still be applied when Nv restarts. Retry with the same request id to learn its outcome.",
                    _ => $"{why}; nothing was written.",
                },
                lsn,
                cause));
        }

        while (_incoming.Reader.TryRead(out var queued))
        {
            queued.Fail(new PipelineUnavailableException($"{why}; nothing was written.", null, cause));
        }
    }

    // The write has left the pipeline (audited, answered from a stored outcome, or failed): its backpressure
    // reservation goes back. Each write is removed once, so each reservation is returned once.
    private void Done(PendingWrite write)
    {
        if (_inFlight.TryRemove(write, out _))
        {
            _lag.Exit();
        }
    }

    // A stage loop: an unexpected exception faults the whole pipeline (fail-stop) instead of ending the loop silently.
    private Task RunStage(string stage, Func<Task> loop) => Task.Run(async () =>
    {
        try
        {
            await loop();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            FaultStage(stage, ex);
        }
    }, CancellationToken.None);

    private void FaultStage(string stage, Exception exception)
    {
        var fault = exception is WalFaultedException ? exception : new PipelineFaultedException(stage, exception);
        if (Interlocked.CompareExchange(ref _fault, fault, null) is not null)
        {
            return;
        }

        Log.StageFaulted(_logger, exception, stage, _options.StopHostOnFault);
        RecordFault(stage, exception);
        _incoming.Writer.TryComplete(fault);
        _committed.Writer.TryComplete();
        _applied.Writer.TryComplete();
        AnswerEveryWaitingCaller($"Nv's {stage} stage failed ({exception.GetType().Name}: {exception.Message})", exception);
        _ = _stopping.CancelAsync();
        Faulted?.Invoke(fault);
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    private sealed record AppliedChunk(List<PendingWrite> Writes, IReadOnlyList<ApplyResult> Results);
}
