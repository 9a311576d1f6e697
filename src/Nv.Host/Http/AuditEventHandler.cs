using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nv.Audit;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Turns <c>POST /v1/audit/events</c> into <see cref="IAuditEventWriter.RecordAsync"/>.</summary>
/// <remarks>Body: <c>{"category","operation","entityId","dtoType"?,"reason"?,"metadata"?:{string:string},"before"?,"after"?}</c>;
/// any other member is refused, so a typo is not silently dropped from the trail. The user is the caller (the API key's
/// name; with authentication off, <c>X-User-Id</c>), as for entity writes. The request id is <c>X-Request-Id</c> or
/// <c>Idempotency-Key</c>; the fingerprint is the body as sent, so a retry must send the same body.</remarks>
internal sealed class AuditEventHandler
{
    private static readonly HashSet<string> Members = new(StringComparer.Ordinal)
    {
        "category", "operation", "entityId", "dtoType", "reason", "metadata", "before", "after",
    };

    private readonly IAuditEventWriter _events;
    private readonly IWritePipeline _pipeline;
    private readonly IWriteAheadLog _wal;
    private readonly JsonBodyReader _bodies;

    public AuditEventHandler(IAuditEventWriter events, IWritePipeline pipeline, IWriteAheadLog wal, JsonBodyReader bodies)
    {
        _events = events;
        _pipeline = pipeline;
        _wal = wal;
        _bodies = bodies;
    }

    public async Task<IResult> RecordAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (RequestIds.Conflict(context) is { } conflict)
        {
            return Problems.Validation(context, conflict, RequestIds.IdempotencyKeyHeader);
        }

        if (RequestIds.FromCaller(context) is not { } requestId)
        {
            return Problems.Validation(context,
                "Audit events need an X-Request-Id (or Idempotency-Key) header: the idempotency key; a retry with the same id returns the first outcome.",
                "X-Request-Id");
        }

        if (!AckPreference.TryRead(context, out var ack))
        {
            return Problems.Validation(context, "Prefer: nv-ack must be durable, applied or audited.", "Prefer");
        }

        if (_wal.State == WalState.Faulted)
        {
            return Problems.WalFaulted(context, "The write-ahead log has failed; Nv records nothing until it is restarted.");
        }

        if (!_pipeline.IsReady)
        {
            return Problems.NotReady(context, "Boot replay has not finished or Nv is stopping; retry shortly.");
        }

        var (body, error) = await _bodies.ReadObjectAsync(context, allowMergePatch: false, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        using (body)
        {
            IResult? problem;
            AuditEventRequest? request;
            try
            {
                (request, problem) = Parse(context, body!.RootElement, requestId, ack);
            }
            catch (WriteValidationException ex)
            {
                // A member name or string that cannot be read as text (an escaped lone surrogate): see RequestValidator.ReadText.
                return Problems.Validation(context, ex.Message, ex.Field);
            }

            if (problem is not null)
            {
                return problem;
            }

            return await SubmitAsync(context, request!, ack, cancellationToken);
        }
    }

    private static (AuditEventRequest? Request, IResult? Problem) Parse(HttpContext context, JsonElement body, string requestId, AckLevel? ack)
    {
        string? category = null, operation = null, entityId = null, dtoType = null, reason = null;
        Dictionary<string, string>? metadata = null;
        JsonElement? before = null, after = null;
        foreach (var member in body.EnumerateObject())
        {
            var name = RequestValidator.ReadText(() => member.Name, "body");
            if (!Members.Contains(name))
            {
                return (null, Problems.Validation(context,
                    $"Unknown member '{Printable(name)}'; an audit event has category, operation, entityId, dtoType, reason, metadata, before and after.",
                    "body"));
            }

            var value = member.Value;
            switch (name)
            {
                case "before":
                    before = value;
                    continue;
                case "after":
                    after = value;
                    continue;
                case "metadata":
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }

                    if (value.ValueKind != JsonValueKind.Object || value.EnumerateObject().Any(static p => p.Value.ValueKind != JsonValueKind.String))
                    {
                        return (null, Problems.Validation(context, "metadata must be a JSON object of strings.", "metadata"));
                    }

                    metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var pair in value.EnumerateObject())
                    {
                        var key = RequestValidator.ReadText(() => pair.Name, "metadata");
                        if (!metadata.TryAdd(key, RequestValidator.ReadText(pair.Value.GetString, "metadata")))
                        {
                            return (null, Problems.Validation(context, $"metadata repeats the key '{Printable(key)}'.", "metadata"));
                        }
                    }

                    continue;
            }

            if (value.ValueKind == JsonValueKind.Null && name is "dtoType" or "reason")
            {
                continue;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                return (null, Problems.Validation(context, $"{name} must be a string.", name));
            }

            var text = RequestValidator.ReadText(value.GetString, name);
            switch (name)
            {
                case "category": category = text; break;
                case "operation": operation = text; break;
                case "entityId": entityId = text; break;
                case "dtoType": dtoType = text; break;
                default: reason = text; break;
            }
        }

        if (category is null || operation is null || entityId is null)
        {
            var missing = category is null ? "category" : operation is null ? "operation" : "entityId";
            return (null, Problems.Validation(context, $"An audit event needs {missing}.", missing));
        }

        AuditCategory parsed;
        try
        {
            parsed = AuditCategoryNames.Parse(category);
        }
        catch (FormatException)
        {
            return (null, Problems.Validation(context,
                "category must be one of authentication, permission, system-events, service-start-stop, environment-change.", "category"));
        }

        if (!AuditEvents.IsAllowed(parsed))
        {
            return (null, Problems.Validation(context,
                "category entity-mutation is recorded by Nv itself for entity writes; write the entity through /v1/entities instead.", "category"));
        }

        var fingerprint = RequestFingerprint.Compute(RequestFingerprint.MethodOf(WalOperation.AuditEvent), dtoType ?? string.Empty, entityId,
            System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(body));
        return (new AuditEventRequest
        {
            RequestId = requestId,
            Category = parsed,
            Operation = operation,
            EntityId = entityId,
            DtoType = dtoType,
            UserId = (context.Items[NvCaller.ItemKey] as NvCaller)?.UserId,
            Reason = reason,
            Metadata = metadata,
            Before = before,
            After = after,
            Ack = ack,
            Fingerprint = fingerprint,
        }, null);
    }

    private async Task<IResult> SubmitAsync(HttpContext context, AuditEventRequest request, AckLevel? ack, CancellationToken cancellationToken)
    {
        AuditEventOutcome outcome;
        try
        {
            outcome = await _events.RecordAsync(request, cancellationToken);
        }
        catch (NvException ex) when (WriteProblems.Handles(ex))
        {
            return WriteProblems.For(context, ex, "event");
        }

        AckPreference.Applied(context, outcome.Status, outcome.IsAudited);
        if (outcome.IsReplay)
        {
            context.Response.Headers[WriteResults.ReplayedHeader] = "true";
        }

        var lsn = outcome.Lsn.Value;
        var body = new AuditEventResponse(outcome.RequestId, RequestEndpoints.StatusName(outcome.Status), lsn, outcome.EntryId,
            AuditCategoryNames.ToName(request.Category), request.Operation, request.EntityId);
        switch (outcome.Status)
        {
            case WriteStatus.Applied:
                var location = outcome.EntryId is { } id
                    ? AuditEndpoints.Prefix + "/entries/" + id.ToString("D")
                    : AuditEndpoints.Prefix + "/requests/" + Uri.EscapeDataString(outcome.RequestId);
                return Results.Created(location, body);
            case WriteStatus.Accepted:
                return Results.Accepted(RequestEndpoints.Location(outcome.RequestId), body);
            default:
                context.Response.Headers.RetryAfter = "1";
                return Problems.DbUnavailable(context, string.Create(CultureInfo.InvariantCulture,
                    $"The event is durable in the WAL at lsn {lsn} but the database is unavailable to record its request id; it will be recorded in the background. Retry with the same X-Request-Id to learn its outcome."),
                    lsn);
        }
    }

    private static string Printable(string value)
    {
        var text = new string(value.Select(static c => c is < ' ' or > '~' ? '?' : c).ToArray());
        return text.Length > 64 ? text[..64] + "..." : text;
    }
}
