using System.Buffers;
using System.Text.Json;
using Nv.Audit;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline : IAuditEventWriter
{
    // A custom audit event is a write of operation AuditEvent: the same validation, request-id cache, idempotency lookup,
    // WAL group commit, apply (the database writer records only its request's outcome) and audit stage as an entity write,
    // so it is exactly as durable and as idempotent, and boot replay and the backfill rebuild its entry from the WAL.
    public async Task<AuditEventOutcome> RecordAsync(AuditEventRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        JsonElement payload;
        try
        {
            payload = AuditEvents.ToPayload(request.Category, request.Operation, request.Before, request.After);
        }
        catch (ArgumentException ex)
        {
            // An unknown category value (ArgumentOutOfRangeException), one a custom event may not use, or a bad operation.
            throw new WriteValidationException(ex.ParamName ?? "event", ex.Message);
        }

        var write = new WriteRequest
        {
            RequestId = request.RequestId,
            Operation = WalOperation.AuditEvent,
            DtoType = request.DtoType ?? string.Empty,
            EntityId = request.EntityId,
            Payload = payload,
            UserId = request.UserId,
            Reason = request.Reason,
            Metadata = request.Metadata,
            Ack = request.Ack ?? AckLevel.Audited,
            Fingerprint = request.Fingerprint ?? Fingerprint(request, payload),
        };
        var outcome = await WriteAsync(write, cancellationToken);
        var entryId = outcome.RecordId
            ?? await _audit.FindEventEntryAsync(request.RequestId, request.UserId, outcome.Lsn, cancellationToken);
        return new AuditEventOutcome
        {
            RequestId = outcome.RequestId,
            Status = outcome.Status,
            Lsn = outcome.Lsn,
            EntryId = entryId,
            Detail = outcome.Detail,
            IsReplay = outcome.IsReplay,
            IsAudited = outcome.IsAudited,
        };
    }

    // What an in-process event asked for: its category, operation, subject, images, reason and metadata (a retry with the
    // same id must record the same event; the HTTP layer hashes the body as sent instead).
    private static string Fingerprint(AuditEventRequest request, JsonElement payload)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("event");
            payload.WriteTo(writer);
            writer.WriteString("reason", request.Reason);
            writer.WriteStartObject("metadata");
            foreach (var (key, value) in (request.Metadata ?? new Dictionary<string, string>()).OrderBy(static p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return RequestFingerprint.Compute(RequestFingerprint.MethodOf(WalOperation.AuditEvent), request.DtoType ?? string.Empty,
            request.EntityId ?? string.Empty, body.WrittenSpan);
    }
}
