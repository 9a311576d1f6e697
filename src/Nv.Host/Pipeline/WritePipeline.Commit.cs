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
        for (var i = first; i < batch.Count; i++)
        {
            if (i == midBatch && batch[i - 1].Record is { } previous)
            {
                await _wal.FlushAsync(previous.Lsn, cancellationToken);
                CrashPoints.Hit(CrashPoints.MidBatch);
            }

            var append = NvActivities.StartAppend(batch[i]);
            try
            {
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

    private void RefuseTooLarge(PendingWrite write, WalRecordTooLargeException ex)
    {
        Log.RecordTooLarge(_logger, write.Request.RequestId, ex.SizeBytes, ex.MaxBytes);
        if (write.Request.Operation == WalOperation.Erase && write.Subject is { } subject)
        {
            _keys.CancelErase(subject); // announced by AssignKeysAsync, never appended
        }

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

    // Encryption at rest: each write's subject and the data key its payload is sealed with, in append order, so that an
    // erasure appended here is ordered with the writes around it (KeyRing.BeginErase). When the key store cannot be read
    // or the pool cannot be refilled, these writes fail and nothing is appended. An erasure announced here is withdrawn
    // (KeyRing.CancelErase) on every way out but the hand-over to the appends, a cancellation (a stop) included:
    // otherwise the ring would keep the subject marked as being erased, and seal its later writes under new keys, until
    // a restart.
    private async Task<bool> AssignKeysAsync(List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        if (!_keys.Enabled)
        {
            return true;
        }

        List<string>? erasing = null;
        List<(PendingWrite Write, Exception Reason)>? refused = null;
        var handedOver = false;
        try
        {
            // Each write's subject first, so that the subjects the ring does not hold are looked up in one query.
            var subjects = new List<string>(batch.Count);
            var itemSubjects = new Dictionary<PendingWrite, string[]>();
            var moving = _keys.Subjects.HasRules ? new Dictionary<(string, string), HashSet<string>>() : null; // mapped entities written earlier in this batch, and their subjects
            foreach (var write in batch)
            {
                if (await ResolveSubjectsAsync(write, subjects, itemSubjects, moving, cancellationToken) is { } refusal)
                {
                    (refused ??= []).Add((write, refusal));
                }
            }

            if (refused is not null)
            {
                foreach (var (write, reason) in refused)
                {
                    Refuse(write, reason);
                }

                batch.RemoveAll(write => refused.Exists(r => r.Write == write));
            }

            await _keys.LookUpAsync(subjects, cancellationToken);
            foreach (var write in batch)
            {
                var request = write.Request;
                if (request.Operation == WalOperation.Erase)
                {
                    write.Subject = Protection.SubjectResolver.Of(request.DtoType, request.EntityId);
                    _keys.BeginErase(write.Subject);
                    (erasing ??= []).Add(write.Subject);
                    continue;
                }

                if (write.Items is { } items)
                {
                    // Each item of a batch is sealed under its own subject's key (an item id binds its payload).
                    var ofItems = itemSubjects[write];
                    var keyed = new WalBatchItem[items.Count];
                    for (var i = 0; i < items.Count; i++)
                    {
                        var item = items[i];
                        keyed[i] = item with
                        {
                            Subject = ofItems[i],
                            PayloadKeyId = await _keys.KeyForAsync(ofItems[i], cancellationToken),
                            // A delete seals an empty object, as a single delete does: its key still names the subject of
                            // the before image the audit trail keeps.
                            Payload = item.Payload.ValueKind == System.Text.Json.JsonValueKind.Undefined ? EmptyObject : item.Payload,
                        };
                    }

                    write.Items = keyed;
                    continue;
                }

                write.KeyId = await _keys.KeyForAsync(write.Subject!, cancellationToken);
            }

            if (InjectKeyAssignmentFailure?.Invoke() is { } injected)
            {
                throw injected;
            }

            handedOver = true;
            return batch.Count > 0;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.KeyAssignmentFailed(_logger, ex, batch.Count);
            foreach (var write in batch)
            {
                Refuse(write, ex);
            }

            batch.Clear();
            return false;
        }
        finally
        {
            if (!handedOver)
            {
                foreach (var subject in erasing ?? [])
                {
                    _keys.CancelErase(subject); // nothing of this batch is appended: no erasure is on its way
                }
            }

            _keys.EndLookups();
        }
    }

    // The subject of a write (each item's, for a batch), added to subjects; or why it is refused before anything is
    // appended (a custom event or delete whose subject is not known: see EventSubjectAsync, StoredSubjectAsync).
    private async Task<Exception?> ResolveSubjectsAsync(PendingWrite write, List<string> subjects, Dictionary<PendingWrite, string[]> itemSubjects,
        Dictionary<(string, string), HashSet<string>>? moving, CancellationToken cancellationToken)
    {
        var request = write.Request;
        switch (request.Operation)
        {
            case WalOperation.Erase:
                return null; // its subject is the one it names (the second pass)
            case WalOperation.AuditEvent:
                var (subject, refusal) = await EventSubjectAsync(request, moving, cancellationToken);
                if (subject is not null)
                {
                    write.Subject = subject;
                    subjects.Add(subject);
                }

                return refusal;
        }

        if (write.Items is { } items)
        {
            var ofItems = new string[items.Count];
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                if (await SubjectOfAsync(item.Operation, item.DtoType, item.EntityId, item.Payload, moving, cancellationToken) is not { } itemSubject)
                {
                    return new SubjectPendingException(item.DtoType, item.EntityId);
                }

                ofItems[i] = itemSubject;
            }

            for (var i = 0; i < items.Count; i++)
            {
                Moving(items[i].Operation, items[i].DtoType, items[i].EntityId, ofItems[i], moving);
            }

            itemSubjects[write] = ofItems;
            subjects.AddRange(ofItems);
            return null;
        }

        if (await SubjectOfAsync(request.Operation, request.DtoType, request.EntityId, request.Payload, moving, cancellationToken) is not { } resolved)
        {
            return new SubjectPendingException(request.DtoType, request.EntityId);
        }

        write.Subject = resolved;
        Moving(request.Operation, request.DtoType, request.EntityId, resolved, moving);
        subjects.Add(resolved);
        return null;
    }

    // Null: a delete whose subject is not known yet (see StoredSubjectAsync).
    private async Task<string?> SubjectOfAsync(WalOperation operation, string dtoType, string entityId, System.Text.Json.JsonElement? payload,
        Dictionary<(string, string), HashSet<string>>? moving, CancellationToken cancellationToken) =>
        operation == WalOperation.Delete && _keys.Subjects.IsMapped(dtoType)
            ? await StoredSubjectAsync(dtoType, entityId, moving, cancellationToken) is var (stored, settled) && settled
                ? stored ?? Protection.SubjectResolver.Of(dtoType, entityId)
                : null
            : _keys.Subjects.Resolve(dtoType, entityId, payload);

    // A delete of a mapped type (or a custom event about one that names no subject) takes its subject from the store:
    // the subject its entity is stored under, or its own when none is stored. That is the subject its before image will
    // belong to unless a create or update of the entity that is appended and not applied (earlier, or in this batch) names
    // another: then it is not settled, and the caller refuses as retryable (SubjectPendingException) rather than seal it
    // under a subject whose erasure would not reach that image. The unapplied ones are read before the store, so one
    // applied in between is seen in the store. With unapplied writes, two subjects among them or a failed read of the
    // store also leave it unsettled (a retryable refusal of this request, not a failure of the whole append batch).
    private async Task<(string? Stored, bool Settled)> StoredSubjectAsync(string dtoType, string entityId,
        Dictionary<(string, string), HashSet<string>>? moving, CancellationToken cancellationToken)
    {
        var pending = new HashSet<string>(_keys.UnappliedSubjects(dtoType, entityId) ?? [], StringComparer.Ordinal);
        if (moving is not null && moving.TryGetValue((dtoType, entityId), out var here))
        {
            pending.UnionWith(here);
        }

        if (pending.Count > 1)
        {
            return (null, false);
        }

        string? stored;
        try
        {
            stored = _db is IDataKeyStore store ? await store.FindEntitySubjectAsync(dtoType, entityId, cancellationToken) : null;
        }
        catch (Exception ex) when (pending.Count > 0 && ex is not OperationCanceledException)
        {
            return (null, false);
        }

        return (stored, pending.Count == 0 || pending.Contains(stored ?? Protection.SubjectResolver.Of(dtoType, entityId)));
    }

    private void Moving(WalOperation operation, string dtoType, string entityId, string subject, Dictionary<(string, string), HashSet<string>>? moving)
    {
        if (moving is not null && operation is WalOperation.Create or WalOperation.Update && _keys.Subjects.IsMapped(dtoType))
        {
            if (!moving.TryGetValue((dtoType, entityId), out var subjects))
            {
                moving[(dtoType, entityId)] = subjects = new HashSet<string>(StringComparer.Ordinal);
            }

            subjects.Add(subject);
        }
    }

    // A custom audit event is sealed under the key of the subject it is about, so that an erasure of that subject reaches
    // it: the entity its dtoType and entity id name. For a dtoType mapped to another subject, the subject its after (else
    // before) image names in the mapped field, else the one the stored entity belongs to, unless a write that may change
    // that is not applied yet (refused as retryable, as a delete is); refused when none names one (sealed under the
    // entity's own key, no erasure could ever reach it, since erasing a mapped type is refused). An event without a
    // dtoType names no entity: it is sealed under a subject of its own, "_event/<entityId>" (no dtoType starts with '_',
    // so no erasure can name it): protected at rest, never erased.
    private async Task<(string? Subject, Exception? Refusal)> EventSubjectAsync(WriteRequest request, Dictionary<(string, string), HashSet<string>>? moving,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.DtoType))
        {
            return (Protection.SubjectResolver.Of(EventSubjectType, request.EntityId), null);
        }

        if (!_keys.Subjects.IsMapped(request.DtoType))
        {
            return (Protection.SubjectResolver.Of(request.DtoType, request.EntityId), null);
        }

        var (_, _, before, after) = Nv.Audit.AuditEvents.ParsePayload(request.Payload ?? default);
        if ((_keys.Subjects.SubjectNamedBy(request.DtoType, after) ?? _keys.Subjects.SubjectNamedBy(request.DtoType, before)) is { } named)
        {
            return (named, null);
        }

        var (stored, settled) = await StoredSubjectAsync(request.DtoType, request.EntityId, moving, cancellationToken);
        return !settled ? (null, new SubjectPendingException(request.DtoType, request.EntityId))
            : stored is not null ? (stored, null)
            : (null, UnnamedEventSubject(request));
    }

    private WriteValidationException UnnamedEventSubject(WriteRequest request)
    {
        var (type, field) = _keys.Subjects.RuleFor(request.DtoType)!.Value;
        return new WriteValidationException("after/" + field,
            $"names the data subject of {request.DtoType} entities (Nv:Encryption:Subjects:{request.DtoType} = {type}:{field}): an event about one must give it "
            + $"in its after or before image, since no stored {request.DtoType} {request.EntityId} names one (deleted, or never written). Nothing was written.");
    }

    /// <summary>The subject type of an audit event that names no dtoType (see <see cref="EventSubjectAsync"/>).</summary>
    internal const string EventSubjectType = "_event";

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
