using Nv.Host.Protection;
using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The commit stage's encryption-at-rest part: each write's data subject and the data key its payload is sealed
/// with, assigned in append order before the batch is appended.</summary>
internal sealed partial class WritePipeline
{
    // Encryption at rest: each write's subject and the data key its payload is sealed with, in append order, so that an
    // erasure appended here is ordered with the writes around it (KeyRing.BeginErase). When the key store cannot be read
    // or the pool cannot be refilled, these writes fail and nothing is appended. An erasure announced here is withdrawn
    // (KeyRing.CancelErase) on every way out but the hand-over to the appends, a cancellation (a stop) included; after the
    // hand-over, AppendWaitingAsync withdraws those it does not append (WithdrawErasures). Otherwise the ring would keep
    // the subject marked as being erased, and seal its later writes under new keys, until a restart.
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
}
