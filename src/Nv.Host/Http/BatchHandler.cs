using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nv.DbWriter;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Turns <c>POST /v1/batch</c> into <see cref="IWritePipeline.WriteBatchAsync"/>.</summary>
/// <remarks>
/// Body: <c>{"items":[{"op":"create","dtoType":"Order","entityId":"o-1","payload":{…}},
/// {"op":"update","dtoType":"Stock","entityId":"s-9","payload":{…},"ifMatch":"41","dtoVersion":2}]}</c>. Every item has
/// <c>op</c> (create, update, patch, delete), <c>dtoType</c> and <c>entityId</c>; <c>payload</c> (a JSON object; for
/// patch a merge patch) except for deletes; optional <c>ifMatch</c> (an ETag this API returned, as a string or a number)
/// and <c>dtoVersion</c> (default: the <c>X-Dto-Version</c> header, else 1; for a patch the stored version). Unknown
/// members are refused (400), so a misspelt <c>ifMatch</c> is never silently ignored. Headers as for single writes:
/// <c>X-Request-Id</c> (required), <c>X-Reason</c>, <c>X-Meta-*</c>, <c>Prefer: nv-ack=…</c>.
/// Answers: 200 with every item's outcome and the batch's LSN (each written entity's new ETag); 202 when accepted;
/// 409/412/404 Problem+json naming the item that rejected the batch (<c>failedItem</c>, <c>item</c>, <c>items</c>); 413
/// past the item or byte limit; 501 when the store cannot apply batches atomically; 503 as for single writes.
/// </remarks>
internal sealed class BatchHandler
{
    private readonly IWritePipeline _pipeline;
    private readonly IWriteAheadLog _wal;
    private readonly JsonBodyReader _bodies;

    public BatchHandler(IWritePipeline pipeline, IWriteAheadLog wal, JsonBodyReader bodies)
    {
        _pipeline = pipeline;
        _wal = wal;
        _bodies = bodies;
    }

    public async Task<IResult> WriteAsync(HttpContext context, CancellationToken cancellationToken)
    {
        // As for every write: two headers naming different ids are refused, not resolved in favour of X-Request-Id.
        if (RequestIds.Conflict(context) is { } conflict)
        {
            return Problems.Validation(context, conflict, RequestIds.IdempotencyKeyHeader);
        }

        var requestId = RequestIds.FromCaller(context);
        if (requestId is null)
        {
            return Problems.Validation(context, "A batch needs an X-Request-Id header (the idempotency key: a retry with the same id returns the first outcome).", "X-Request-Id");
        }

        if (!DtoVersionHeader.TryRead(context, out var defaultVersion))
        {
            return DtoVersionHeader.Invalid(context);
        }

        if (!AckPreference.TryRead(context, out var ack))
        {
            return Problems.Validation(context, "Prefer: nv-ack must be durable, applied or audited.", "Prefer");
        }

        if (_wal.State == WalState.Faulted)
        {
            return Problems.WalFaulted(context, "The write-ahead log has failed; Nv accepts no writes until it is restarted (recovery keeps every durable record).");
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
            if (!TryParseItems(body!.RootElement, defaultVersion, out var items, out var problem, out var field))
            {
                return Problems.Validation(context, problem!, field);
            }

            var caller = context.Items[NvCaller.ItemKey] as NvCaller;
            var request = new BatchRequest
            {
                RequestId = requestId,
                Items = items,
                UserId = caller?.UserId,
                Reason = context.Request.Headers["X-Reason"].ToString() is { Length: > 0 } reason ? reason : null,
                Metadata = EntityHandler.Metadata(context),
                Ack = ack,
            };
            return await SubmitAsync(context, request, ack, cancellationToken);
        }
    }

    private async Task<IResult> SubmitAsync(HttpContext context, BatchRequest request, AckLevel? ack, CancellationToken cancellationToken)
    {
        BatchOutcome outcome;
        try
        {
            outcome = await _pipeline.WriteBatchAsync(request, cancellationToken);
        }
        catch (BatchesNotSupportedException ex)
        {
            return Problems.Create(context, StatusCodes.Status501NotImplemented, ProblemTypes.BatchesNotSupported,
                "Batches are not supported by this store", ex.Message + " Nothing was written.");
        }
        catch (NvException ex) when (WriteProblems.Handles(ex))
        {
            // As for single writes: any other exception is a fault (500, logged by ErrorMiddleware), not a retryable 503.
            return WriteProblems.For(context, ex, "batch");
        }

        if (ack is { } preferred)
        {
            AckPreference.Applied(context, outcome.Status, outcome.IsAudited);
        }

        if (outcome.IsReplay)
        {
            context.Response.Headers[WriteResults.ReplayedHeader] = "true";
        }

        var views = outcome.Items.Select(View).ToList();
        var lsn = outcome.Lsn.Value;
        switch (outcome.Status)
        {
            case WriteStatus.Applied:
                return Results.Ok(new BatchResponse(outcome.RequestId, "applied", lsn, views));
            case WriteStatus.Accepted:
                return Results.Accepted(RequestEndpoints.Location(outcome.RequestId), new BatchResponse(outcome.RequestId, "accepted", lsn, views));
            case WriteStatus.Rejected:
                return Rejected(context, request, outcome, views);
            default:
                context.Response.Headers.RetryAfter = "1";
                return Problems.DbUnavailable(context,
                    string.Create(CultureInfo.InvariantCulture,
                        $"The batch is durable in the WAL at lsn {lsn} but the database is unavailable; it will be applied in the background. Retry with the same X-Request-Id to learn its outcome."),
                    lsn);
        }
    }

    private static IResult Rejected(HttpContext context, BatchRequest request, BatchOutcome outcome, List<BatchItemView> views)
    {
        // A retry answered from the stored request outcome after the batch's record left the WAL (its resolution, which
        // names the failed item, is purged with it) knows why the batch was rejected but not which item: it says so
        // instead of naming item 0 (which named a wrong item, and could turn a 412 into a 409).
        int? failed = outcome.FailedItem is { } f && f >= 0 && f < request.Items.Count ? f : null;
        var item = failed is { } known ? request.Items[known] : null;
        var ext = new Dictionary<string, object?>
        {
            ["lsn"] = outcome.Lsn == Lsn.None ? null : outcome.Lsn.Value,
            ["failedItem"] = failed,
            ["item"] = failed is { } index ? views[index] : null,
            ["items"] = views,
        };
        var name = item is null
            ? "One item (which one is no longer known: the batch's record has left the WAL)"
            : string.Create(CultureInfo.InvariantCulture, $"Batch item {failed} ({OpName(item.Operation)} {item.DtoType} '{item.EntityId}')");
        var namesVersion = item is null ? request.Items.Any(static i => i.ExpectedLsn is not null) : item.ExpectedLsn is not null;
        return outcome.RejectReason switch
        {
            RejectReason.AlreadyExists => Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.AlreadyExists,
                "An item's entity already exists", name + " creates an entity that already exists; nothing of the batch was written.", ext),
            RejectReason.NotFound => Problems.Create(context, StatusCodes.Status404NotFound, ProblemTypes.NotFound,
                "An item's entity does not exist", name + " targets an entity that does not exist (or was deleted); nothing of the batch was written.", ext),
            RejectReason.PreconditionFailed when namesVersion => Problems.Create(context, StatusCodes.Status412PreconditionFailed,
                ProblemTypes.PreconditionFailed, "Precondition failed",
                name + " names a version (ifMatch) the entity is not at; read it again and retry. Nothing of the batch was written.", ext),
            RejectReason.PreconditionFailed => Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.ConcurrentModification,
                "Concurrent modification", name + " patched an entity that changed between the read and the write; nothing was lost or written. Retry with a new X-Request-Id.", ext),
            RejectReason.Unstorable => Problems.Create(context, StatusCodes.Status422UnprocessableEntity, ProblemTypes.Unstorable,
                "The database cannot store an item", outcome.Detail ?? name + " cannot be stored by the database; nothing of the batch was written.", ext),
            _ => Problems.Create(context, StatusCodes.Status409Conflict, ProblemTypes.AlreadyExists, "Rejected",
                outcome.Detail ?? name + " was rejected by the database; nothing of the batch was written.", ext),
        };
    }

    private static BatchItemView View(BatchItemOutcome item) => new(
        item.Index,
        OpName(item.Operation),
        item.DtoType,
        item.EntityId,
        item.Status switch
        {
            BatchItemStatus.Applied => "applied",
            BatchItemStatus.Rejected => "rejected",
            BatchItemStatus.NotApplied => "not-applied",
            BatchItemStatus.Accepted => "accepted",
            _ => "pending",
        },
        item.Lsn == Lsn.None ? null : item.Lsn.Value);

    internal static string OpName(BatchOperation operation) => operation switch
    {
        BatchOperation.Create => "create",
        BatchOperation.Update => "update",
        BatchOperation.Patch => "patch",
        _ => "delete",
    };

    /// <summary>Reads <c>{"items":[...]}</c> strictly: unknown members, wrong types and missing fields are refused.</summary>
    /// <remarks>Member names and strings are read through <see cref="RequestValidator.ReadText"/>: one holding an escaped
    /// lone surrogate is refused like any other bad field (it was a 500).</remarks>
    internal static bool TryParseItems(JsonElement body, int? defaultVersion, out List<BatchItem> items, out string? problem, out string? field)
    {
        items = [];
        problem = null;
        field = null;
        try
        {
            return TryParseBody(body, defaultVersion, items, out problem, out field);
        }
        catch (WriteValidationException ex)
        {
            items.Clear();
            (problem, field) = (ex.Message, ex.Field);
            return false;
        }
    }

    private static bool TryParseBody(JsonElement body, int? defaultVersion, List<BatchItem> items, out string? problem, out string? field)
    {
        problem = null;
        field = null;
        JsonElement? array = null;
        foreach (var member in body.EnumerateObject())
        {
            var name = RequestValidator.ReadText(() => member.Name, "body");
            if (name == "items")
            {
                array = member.Value;
            }
            else
            {
                (problem, field) = ($"Unknown member '{name}'; a batch body is {{\"items\":[...]}}.", name);
                return false;
            }
        }

        if (array is not { ValueKind: JsonValueKind.Array } list)
        {
            (problem, field) = ("The body must be {\"items\":[...]} with an array of items.", "items");
            return false;
        }

        var index = 0;
        foreach (var element in list.EnumerateArray())
        {
            var where = "items/" + index.ToString(CultureInfo.InvariantCulture);
            if (!TryParseItem(element, where, defaultVersion, out var item, out problem, out var member))
            {
                field = member is null ? where : where + "/" + member;
                problem = where + ": " + problem;
                return false;
            }

            items.Add(item!);
            index++;
        }

        return true;
    }

    private static bool TryParseItem(JsonElement element, string where, int? defaultVersion, out BatchItem? item, out string? problem, out string? member)
    {
        item = null;
        problem = null;
        member = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            problem = "each item must be a JSON object";
            return false;
        }

        string? op = null, dtoType = null, entityId = null;
        JsonElement? payload = null;
        Lsn? ifMatch = null;
        var version = defaultVersion;
        foreach (var property in element.EnumerateObject())
        {
            member = RequestValidator.ReadText(() => property.Name, where);
            var value = property.Value;
            var text = value.ValueKind == JsonValueKind.String ? RequestValidator.ReadText(value.GetString, where + "/" + member) : null;
            switch (member)
            {
                case "op" when text is not null:
                    op = text;
                    break;
                case "dtoType" when text is not null:
                    dtoType = text;
                    break;
                case "entityId" when text is not null:
                    entityId = text;
                    break;
                case "payload" when value.ValueKind is JsonValueKind.Object:
                    payload = value;
                    break;
                case "ifMatch" when text is not null && ETags.TryParse(text, out var etag):
                    ifMatch = etag;
                    break;
                case "ifMatch" when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number > 0:
                    ifMatch = new Lsn(number);
                    break;
                case "dtoVersion" when value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var v) && v is >= 0 and <= DtoVersionHeader.Max:
                    version = v;
                    break;
                case "op" or "dtoType" or "entityId":
                    problem = "must be a string";
                    return false;
                case "payload":
                    problem = "must be a JSON object";
                    return false;
                case "ifMatch":
                    problem = "must be an ETag this API returned, like \"41\"";
                    return false;
                case "dtoVersion":
                    problem = $"must be a whole number between 0 and {DtoVersionHeader.Max}";
                    return false;
                default:
                    problem = $"unknown member '{member}' (items have op, dtoType, entityId, payload, ifMatch, dtoVersion)";
                    return false;
            }
        }

        member = null;
        BatchOperation? operation = op switch
        {
            "create" => BatchOperation.Create,
            "update" => BatchOperation.Update,
            "patch" => BatchOperation.Patch,
            "delete" => BatchOperation.Delete,
            _ => null,
        };
        if (operation is null)
        {
            (problem, member) = ("op must be create, update, patch or delete", "op");
            return false;
        }

        if (dtoType is null || entityId is null)
        {
            (problem, member) = ("dtoType and entityId are required", dtoType is null ? "dtoType" : "entityId");
            return false;
        }

        if (payload is null && operation != BatchOperation.Delete)
        {
            (problem, member) = ("payload (a JSON object) is required for " + op, "payload");
            return false;
        }

        item = new BatchItem
        {
            Operation = operation.Value,
            DtoType = dtoType,
            EntityId = entityId,
            Payload = payload,
            Version = version,
            ExpectedLsn = ifMatch,
        };
        return true;
    }
}
