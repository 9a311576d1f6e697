using Nv.Host.Protection;
using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Commit stage: the only appender. Drains up to MaxBatchSize waiting requests, answers the ones whose request id the
    // database already resolved (one query per batch), appends the rest (contiguous LSNs) and asks the WAL to make them
    // durable, then moves on to the next batch without waiting: the group commit's fsync of batch k overlaps the appends
    // of batch k+1, and the apply stage waits for each batch's flush before touching the database. Any WAL exception
    // faults the pipeline: the batch and everything queued behind it fail, and nothing is ever acknowledged again; any
    // other exception faults the commit stage (FaultStage).
    private async Task CommitLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _incoming.Reader;
        Task previous = Task.CompletedTask;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                // Part A: whatever waits now is appended while the previous flush is still running; part B is what
                // arrived by the time that flush completed. Both go out in one flush, so each sync carries everything
                // that queued up during the previous one, and the disk idles only while part B is appended.
                var batch = new List<PendingWrite>(Math.Min(_options.MaxBatchSize, 64));
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await AppendWaitingAsync(reader, batch, cancellationToken);
                    if (!previous.IsCompleted && batch.Count < _options.MaxBatchSize)
                    {
                        await previous.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                        await AppendWaitingAsync(reader, batch, cancellationToken);
                    }

                    if (batch.Count == 0)
                    {
                        continue;
                    }

                    CrashPoints.Hit(CrashPoints.AfterWalAppend);
                    var flushSpan = NvActivities.StartBatch(NvActivities.FlushName, batch, batch.Count);
                    previous = _wal.FlushAsync(batch[^1].Record!.Lsn, CancellationToken.None).AsTask();
                    if (flushSpan is not null)
                    {
                        _ = previous.ContinueWith(static (flush, span) => NvActivities.EndBatch((System.Diagnostics.Activity)span!, flush.Exception?.InnerException),
                            flushSpan, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    }

                    if (batch.Exists(static w => w.Ack == AckLevel.Durable))
                    {
                        // Durable callers hear back as soon as the group commit completed, not when the apply stage gets to it.
                        _ = previous.ContinueWith(AnswerDurable, batch, CancellationToken.None,
                            TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    }
                    Log.StageBatch(_logger, "append", batch.Count, batch[^1].Record!.Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    FaultPipeline(ex, batch);
                    return;
                }

                await _committed.Writer.WriteAsync(new CommittedBatch(batch, previous, started), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _committed.Writer.TryComplete();
        }
    }

    private void AnswerDurable(Task flush, object? state)
    {
        if (Volatile.Read(ref _fault) is not null)
        {
            return; // after a WAL fault nothing is acknowledged, even a flush that reports success
        }

        foreach (var write in (List<PendingWrite>)state!)
        {
            write.OnDurable();
        }
    }

    // Drains waiting requests (up to the batch limit), answers the known retries and appends the rest to the batch.
    private async Task AppendWaitingAsync(System.Threading.Channels.ChannelReader<PendingWrite> reader, List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        var taken = new List<PendingWrite>(Math.Min(_options.MaxBatchSize, 64));
        while (batch.Count + taken.Count < _options.MaxBatchSize && reader.TryRead(out var write))
        {
            taken.Add(write);
        }

        if (taken.Count == 0 || !await AnswerKnownRequestsAsync(taken, cancellationToken) || !RefuseMissingSubjects(taken)
            || !await AssignKeysAsync(taken, cancellationToken))
        {
            return;
        }

        var first = batch.Count;
        batch.AddRange(taken); // before appending: if an append faults the WAL, FaultPipeline fails all of them
        var midBatch = CrashPoints.IsArmed(CrashPoints.MidBatch) && batch.Count >= 2 ? batch.Count / 2 : -1;
        var refused = 0;
        var i = first;
        try
        {
            for (; i < batch.Count; i++)
            {
                if (i == midBatch && batch[i - 1].Record is { } previous)
                {
                    await _wal.FlushAsync(previous.Lsn, cancellationToken);
                    CrashPoints.Hit(CrashPoints.MidBatch);
                }

                var append = NvActivities.StartAppend(batch[i]);
                try
                {
                    if (InjectAppendFailure?.Invoke(batch[i].Request.Operation) is { } injected)
                    {
                        throw injected;
                    }

                    batch[i].Record = await _wal.AppendAsync(BuildRecord(batch[i]), cancellationToken);
                    _keys.Appended(batch[i].Record!);
                    batch[i].MarkPlaced(true);
                }
                catch (WalRecordTooLargeException ex)
                {
                    // The WAL refused this record before writing anything (it is still open): a refusal of this request only.
                    NvActivities.EndBatch(append, ex);
                    RefuseTooLarge(batch[i], ex);
                    refused++;
                    continue;
                }
                catch (Exception ex)
                {
                    NvActivities.EndBatch(append, ex);
                    throw;
                }

                NvActivities.Appended(append, batch[i]);
            }
        }
        finally
        {
            // Left early (a stop's cancellation, a WAL fault): the erasures AssignKeysAsync announced for the writes from the
            // one that failed on are not in the WAL, so the announcements are withdrawn as AssignKeysAsync withdraws its own
            // (the writes before it are appended, or refused as too large, which withdrew theirs).
            WithdrawErasures(batch, i);
        }

        if (refused > 0)
        {
            batch.RemoveAll(static w => w.Record is null);
        }
    }

    // Encryption at rest with a dtoType mapped to a subject named by a payload field: a create or update (or a batch item)
    // that names none is refused, only this request and nothing written. Here, after the retries were answered, so that
    // a retry of an earlier request (a PATCH retry carries its patch, not the merged document) gets its first outcome.
    // Returns false when nothing is left to append.
    private bool RefuseMissingSubjects(List<PendingWrite> batch)
    {
        if (!_keys.Enabled)
        {
            return true;
        }

        batch.RemoveAll(write =>
        {
            if (MissingSubject(write) is not { } refusal)
            {
                return false;
            }

            Refuse(write, refusal);
            return true;
        });
        return batch.Count > 0;
    }

    private WriteValidationException? MissingSubject(PendingWrite write)
    {
        if (write.Items is { } items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i].Operation is WalOperation.Create or WalOperation.Update
                    && _keys.Subjects.MissingSubject(items[i].DtoType, items[i].Payload) is ({ } itemField, { } itemProblem))
                {
                    return new WriteValidationException(
                        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"items/{i}/payload/{itemField}"), itemProblem);
                }
            }

            return null;
        }

        var request = write.Request;
        return request.Operation is WalOperation.Create or WalOperation.Update && _keys.Subjects.MissingSubject(request.DtoType, request.Payload) is ({ } field, { } problem)
            ? new WriteValidationException("payload/" + field, problem)
            : null;
    }

    // A write that will not be appended: its request id owns nothing, its place in the backlog is given back, its caller
    // hears why.
    private void Refuse(PendingWrite write, Exception reason)
    {
        _requests.Remove(write);
        Done(write);
        write.Fail(reason);
        write.MarkPlaced(false); // after the failure: a request waiting for this one reads why it ended
    }

    // The announced erasures (AssignKeysAsync) of the writes from index `from` on that were not appended: withdrawn.
    private void WithdrawErasures(List<PendingWrite> batch, int from)
    {
        for (var i = from; i < batch.Count; i++)
        {
            WithdrawErasure(batch[i]);
        }
    }

    // Once per write: a write refused as too large withdrew its own before the loop's way out sees it again.
    private void WithdrawErasure(PendingWrite write)
    {
        if (write is { Record: null, Subject: { } subject, Request.Operation: WalOperation.Erase, ErasureWithdrawn: false } && _keys.Enabled)
        {
            write.ErasureWithdrawn = true;
            _keys.CancelErase(subject);
        }
    }

    private void RefuseTooLarge(PendingWrite write, WalRecordTooLargeException ex)
    {
        Log.RecordTooLarge(_logger, write.Request.RequestId, ex.SizeBytes, ex.MaxBytes);
        WithdrawErasure(write); // announced by AssignKeysAsync, never appended

        Refuse(write, new WriteValidationException("record",
            $"the write serializes to {ex.SizeBytes} bytes with its ids, reason and metadata; the write-ahead log takes at most {ex.MaxBytes} " +
            "(Nv:Wal:MaxRecordBytes). Nothing was written.", isTooLarge: true));
    }

    // Retries whose first attempt this process no longer remembers are found among the database's request outcomes
    // (kept for the idempotency retention, whatever happened to the WAL): they get the first outcome and write nothing,
    // or 422 when the id was first used for a different request. The request-id cache never forgets a write the
    // database cannot answer yet (in flight, or durable but unapplied), so a miss here is authoritative. Returns false
    // when nothing of the batch is left to append. When the lookup fails, a write whose request id the store may hold gets
    // that error and nothing is written: appending without knowing whether a request id was already resolved could apply a
    // retry twice. A write whose id the store's filter proves new (IDbWriter.MightHoldRequest) is appended all the same:
    // the WAL makes it durable while the store is down (DESIGN: 503 with the LSN), and an outage refuses no new write.
    private async Task<bool> AnswerKnownRequestsAsync(List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<RequestKey, RequestOutcome> known;
        try
        {
            known = await _db.FindRequestsAsync(batch.ConvertAll(static w => w.Key), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RequestLookupFailed(_logger, ex, batch.Count);
            batch.RemoveAll(write =>
            {
                if (!_db.MightHoldRequest(write.Key))
                {
                    return false;
                }

                Refuse(write, ex);
                return true;
            });
            if (batch.Count == 0)
            {
                return false;
            }

            known = new Dictionary<RequestKey, RequestOutcome>();
        }

        // A write built as a retry of an id known when it was built, whose first attempt has since left without a trace (it
        // was refused or given up before the WAL): its own refusal stands; it is never appended as built.
        batch.RemoveAll(write =>
        {
            if (!write.RetryOnly || known.ContainsKey(write.Key))
            {
                return false;
            }

            Refuse(write, new UnknownRetryException(write.Request.RequestId));
            return true;
        });

        if (known.Count == 0)
        {
            return batch.Count > 0;
        }

        var answers = new Dictionary<RequestKey, WriteOutcome>();
        foreach (var (key, stored) in known)
        {
            answers[key] = await FromStoredAsync(stored, cancellationToken);
        }

        batch.RemoveAll(write =>
        {
            if (!known.TryGetValue(write.Key, out var stored))
            {
                return false;
            }

            if (stored.Fingerprint is { } fingerprint && !string.Equals(fingerprint, write.Fingerprint, StringComparison.Ordinal))
            {
                Refuse(write, new IdempotencyKeyReusedException(write.Request.RequestId, Describe(stored))); // the id keeps its first request
                return true;
            }

            write.Answer(answers[write.Key]);
            write.MarkPlaced(false);
            write.Finish();
            Done(write);
            return true;
        });
        return batch.Count > 0;
    }

    private static readonly IReadOnlyDictionary<string, string> NoMetadata =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());

    // A batch record carries its request's fingerprint too (format 2, kind 2: see WalRecordCodec.Batch.cs), so the outcome
    // stored when it is applied, also by a replay after a crash, refuses the id on a different request.
    private WalRecord BuildRecord(PendingWrite write) => write.Items is { } items
        ? BuildBatchRecord(write.Request, write.Fingerprint, items)
        : Nv.Audit.AuditEvents.WithPlainHeader(BuildRecord(write.Request, write.Fingerprint) with { PayloadKeyId = write.KeyId, Subject = write.Subject });

    // A batch record: one LSN and one request id for every item; its own entity fields are empty (WalRecord.Items).
    private WalRecord BuildBatchRecord(WriteRequest request, string fingerprint, IReadOnlyList<WalBatchItem> items) => new()
    {
        Id = Guid.CreateVersion7(_time.GetUtcNow()),
        Service = _options.Service,
        Version = 0,
        Timestamp = _time.GetUtcNow(),
        Operation = WalOperation.Batch,
        DtoType = string.Empty,
        EntityId = string.Empty,
        Payload = default,
        ReplayKey = string.Empty,
        RequestId = request.RequestId,
        UserId = request.UserId,
        Reason = request.Reason,
        Metadata = request.Metadata is { Count: > 0 } metadata ? new Dictionary<string, string>(metadata, StringComparer.Ordinal) : NoMetadata,
        Items = items,
        Fingerprint = fingerprint,
    };

    private WalRecord BuildRecord(WriteRequest request, string fingerprint) => new()
    {
        Id = Guid.CreateVersion7(_time.GetUtcNow()),
        Service = _options.Service,
        Version = request.Version,
        Timestamp = _time.GetUtcNow(),
        Operation = request.Operation,
        DtoType = request.DtoType,
        EntityId = request.EntityId,
        Payload = request.Payload ?? default, // an erasure carries none
        // An audit event names no slot (its dtoType is optional): its key says so.
        ReplayKey = ReplayKey.Create(_options.Environment, _options.Service, request.Version,
            request.Operation == WalOperation.AuditEvent ? AuditEventSlot : request.DtoType, request.EntityId),
        RequestId = request.RequestId,
        UserId = request.UserId,
        Reason = request.Reason,
        Metadata = request.Metadata is { Count: > 0 } metadata ? new Dictionary<string, string>(metadata, StringComparer.Ordinal) : NoMetadata,
        ExpectedLsn = request.ExpectedLsn,
        Fingerprint = fingerprint,
    };

    /// <summary>The dtoType part of an audit event's replay key (no entity type can start with '_').</summary>
    internal const string AuditEventSlot = "_audit";

    private void FaultPipeline(Exception ex, List<PendingWrite> batch)
    {
        if (ex is not WalFaultedException fault)
        {
            // Not the WAL (the WAL reports its own failures as WalFaultedException): a key store that failed for good, or a
            // bug. The commit stage failed like any stage: every waiting caller is answered, and the host stops to be
            // restarted (StopHostOnFault), instead of the failure being reported as the disk's.
            FaultStage("commit", ex);
            return;
        }

        if (Interlocked.CompareExchange(ref _fault, fault, null) is null)
        {
            Log.WalFaulted(_logger, fault, fault.Path, fault.ErrnoName, fault.Advice);
            RecordFault("commit", fault);
        }

        _incoming.Writer.TryComplete(fault);
        foreach (var write in batch)
        {
            write.Fail(fault);
        }

        while (_incoming.Reader.TryRead(out var queued))
        {
            queued.Fail(fault);
        }
    }

    /// <summary>A batch appended to the WAL, with the flush that makes it durable.</summary>
    private sealed record CommittedBatch(List<PendingWrite> Writes, Task Durable, long StartedTimestamp);
}
