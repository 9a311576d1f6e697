using System.Globalization;
using System.Text.Json;
using Nv.DbWriter;
using Nv.Host.Http;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    /// <inheritdoc />
    public async Task<BatchOutcome> WriteBatchAsync(BatchRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfUnavailable();
        _batchValidator.Validate(request);
        if (_db.BatchesUnsupportedReason is { } unsupported)
        {
            throw new BatchesNotSupportedException(unsupported);
        }

        var (items, refused, unlessRetry, otherSpelling) = await PrepareItemsAsync(request, cancellationToken);
        if (refused is not null)
        {
            return refused;
        }

        _batchValidator.CheckSize(request, items, _keys.Enabled ? SealingBytes : null);
        var header = new WriteRequest
        {
            RequestId = request.RequestId,
            Operation = WalOperation.Batch,
            DtoType = string.Empty,
            EntityId = string.Empty,
            Version = 0,
            UserId = request.UserId,
            Reason = request.Reason,
            Metadata = request.Metadata,
            Ack = request.Ack,
            Fingerprint = Fingerprint(request),
        };
        try
        {
            var retryOnly = unlessRetry is not null || otherSpelling is not null;
            var outcome = await SubmitAsync(new PendingWrite(header, request.Ack ?? _options.Ack) { Items = items, RetryOnly = retryOnly },
                cancellationToken);
            return ToBatchOutcome(request, outcome);
        }
        catch (UnknownRetryException) when (otherSpelling is not null)
        {
            throw otherSpelling; // the id's first attempt left no trace: this batch's own refusal, nothing written
        }
        catch (UnknownRetryException) when (unlessRetry is not null)
        {
            return unlessRetry; // likewise
        }
    }

    // Turns the request's items into WAL items: ids, DTO versions and replay keys; a patch becomes an update of the merged
    // state guarded by the version it was merged with (so a concurrent change rejects the batch, never goes lost). A patch
    // of a missing entity, or a precondition that the read already shows failing, refuses the batch before the WAL —
    // unless the request id is already known: then this is a retry and its first outcome is answered instead; the refusal
    // is kept (UnlessRetry) for the case that the id's first attempt leaves no trace after all (the batch is built
    // without its precondition, so it must never be appended: PendingWrite.RetryOnly). An item whose dtoType is another
    // spelling of a stored type (400) is kept for the first attempt's outcome the same way (OtherSpelling): the stored
    // types change over time, so a retry of a batch stored under its id (rejected at apply as unstorable, say) would
    // otherwise be refused although its first outcome is known.
    private async Task<(IReadOnlyList<WalBatchItem> Items, BatchOutcome? Refused, BatchOutcome? UnlessRetry, WriteValidationException? OtherSpelling)>
        PrepareItemsAsync(BatchRequest request, CancellationToken cancellationToken)
    {
        var items = new WalBatchItem[request.Items.Count];
        BatchOutcome? unlessRetry = null;
        WriteValidationException? otherSpelling = null;
        bool? known = null;
        for (var i = 0; i < items.Length; i++)
        {
            var item = request.Items[i];
            var operation = item.Operation switch
            {
                BatchOperation.Create => WalOperation.Create,
                BatchOperation.Delete => WalOperation.Delete,
                _ => WalOperation.Update,
            };
            var payload = operation == WalOperation.Delete ? EmptyObject : item.Payload!.Value.Clone();
            var expected = item.ExpectedLsn;
            var version = item.Version ?? 1;
            if (item.Operation == BatchOperation.Patch)
            {
                var current = await _db.GetAsync(item.DtoType, item.EntityId, cancellationToken);
                RejectReason? refusal = current is null ? RejectReason.NotFound
                    : expected is { } wanted && wanted != current.Lsn ? RejectReason.PreconditionFailed
                    : null;
                if (refusal is { } reason)
                {
                    if (!(known ??= await IsKnownRequestAsync(request, cancellationToken)))
                    {
                        return (items, Refused(request, i, reason, current?.Lsn), null, null);
                    }

                    unlessRetry ??= Refused(request, i, reason, current?.Lsn);
                }

                if (current is not null)
                {
                    try
                    {
                        payload = JsonMergePatch.Apply(current.Document, payload);
                    }
                    catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
                    {
                        throw new WriteValidationException(
                            string.Create(CultureInfo.InvariantCulture, $"items/{i}/payload"), "the merge patch cannot be applied: " + ex.Message);
                    }

                    expected = current.Lsn;
                    version = item.Version ?? current.DtoVersion;
                    _validator.Validate(BatchValidator.AsWrite(request, item with { Payload = payload, Version = version }, version));
                }
            }

            if (_db.CheckDtoType(item.DtoType) is { } spelling)
            {
                var refusal = new WriteValidationException(string.Create(CultureInfo.InvariantCulture, $"items/{i}/dtoType"), spelling.Reason);
                if (!(known ??= await IsKnownRequestAsync(request, cancellationToken)))
                {
                    throw refusal;
                }

                otherSpelling ??= refusal;
            }

            if (operation != WalOperation.Delete)
            {
                // As for single writes (WritePipeline.Storable.cs): one canonical form of numbers, and what the writer cannot
                // store is refused before the WAL.
                payload = JsonNumbers.Normalize(payload);
                if (_db.CheckStorable(item.DtoType, payload) is { } unstorable)
                {
                    // A batch stored under its id passed this check: this is no retry of one.
                    throw otherSpelling ?? new WriteValidationException(
                        string.Create(CultureInfo.InvariantCulture, $"items/{i}/payload{unstorable.Path}"), unstorable.Reason, unstorable.IsTooLarge);
                }
            }

            items[i] = new WalBatchItem
            {
                Id = Guid.CreateVersion7(_time.GetUtcNow()),
                Operation = operation,
                Version = version,
                DtoType = item.DtoType,
                EntityId = item.EntityId,
                Payload = payload,
                ReplayKey = ReplayKey.Create(_options.Environment, _options.Service, version, item.DtoType, item.EntityId),
                ExpectedLsn = expected,
            };
        }

        return (items, null, unlessRetry, otherSpelling);
    }

    // Encryption at rest: what sealing adds to an item in the WAL record, with the subject it will be sealed for (the commit
    // stage resolves it the same way, WritePipeline.Subjects.cs); a delete of a mapped type takes its stored entity's
    // subject, looked up only at the append: the largest subject is counted for it.
    private int SealingBytes(WalBatchItem item) => BatchValidator.SealingBytes(
        item.Operation == WalOperation.Delete && _keys.Subjects.IsMapped(item.DtoType)
            ? null
            : _keys.Subjects.Resolve(item.DtoType, item.EntityId, item.Payload));

    private Task<bool> IsKnownRequestAsync(BatchRequest request, CancellationToken cancellationToken) =>
        IsKnownRequestAsync(new RequestKey(request.UserId ?? string.Empty, request.RequestId), cancellationToken);

    // What the batch asks for, so the same request id on a different batch is refused (422) like a single write's: the
    // items in order, each with its operation, type, id, DTO version, precondition and payload as given.
    private static string Fingerprint(BatchRequest request)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var item in request.Items)
            {
                writer.WriteStartObject();
                writer.WriteString("op", item.Operation.ToString());
                writer.WriteString("dtoType", item.DtoType);
                writer.WriteString("entityId", item.EntityId);
                writer.WriteNumber("version", item.Version ?? 0);
                if (item.ExpectedLsn is { } expected)
                {
                    writer.WriteNumber("ifMatch", expected.Value);
                }

                if (item.Payload is { } payload)
                {
                    writer.WritePropertyName("payload");
                    payload.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return RequestFingerprint.Compute("batch", string.Empty, string.Empty, buffer.WrittenSpan);
    }

    private static BatchOutcome Refused(BatchRequest request, int failed, RejectReason reason, Lsn? stored)
    {
        var item = request.Items[failed];
        var detail = reason == RejectReason.NotFound
            ? $"batch item {failed}: {item.DtoType} '{item.EntityId}' does not exist, so it cannot be patched; nothing of the batch was written"
            : string.Create(CultureInfo.InvariantCulture,
                $"batch item {failed}: {item.DtoType} '{item.EntityId}' is at version {stored?.Value}, not {item.ExpectedLsn?.Value}; nothing of the batch was written");
        return new BatchOutcome
        {
            RequestId = request.RequestId,
            Status = WriteStatus.Rejected,
            Lsn = Lsn.None,
            RejectReason = reason,
            FailedItem = failed,
            Detail = detail,
            Items = ItemOutcomes(request, WriteStatus.Rejected, Lsn.None, failed),
        };
    }

    internal static BatchOutcome ToBatchOutcome(BatchRequest request, WriteOutcome outcome) => new()
    {
        RequestId = outcome.RequestId,
        Status = outcome.Status,
        Lsn = outcome.Lsn,
        RejectReason = outcome.RejectReason,
        FailedItem = outcome.FailedItem,
        Detail = outcome.Detail,
        IsAudited = outcome.IsAudited,
        IsReplay = outcome.IsReplay,
        Items = ItemOutcomes(request, outcome.Status, outcome.Lsn, outcome.FailedItem),
    };

    private static BatchItemOutcome[] ItemOutcomes(BatchRequest request, WriteStatus status, Lsn lsn, int? failed)
    {
        var outcomes = new BatchItemOutcome[request.Items.Count];
        for (var i = 0; i < outcomes.Length; i++)
        {
            var item = request.Items[i];
            var itemStatus = status switch
            {
                WriteStatus.Applied => BatchItemStatus.Applied,
                WriteStatus.Rejected => i == failed ? BatchItemStatus.Rejected : BatchItemStatus.NotApplied,
                WriteStatus.Accepted => BatchItemStatus.Accepted,
                _ => BatchItemStatus.Pending,
            };
            outcomes[i] = new BatchItemOutcome(i, item.Operation, item.DtoType, item.EntityId, itemStatus, lsn);
        }

        return outcomes;
    }
}
