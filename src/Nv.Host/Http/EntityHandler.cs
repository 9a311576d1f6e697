using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nv.DbWriter;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Turns entity HTTP requests into pipeline writes and database reads.</summary>
/// <remarks>Everything about the request (ids, headers, body) is checked before the pipeline is called, and the pipeline
/// validates again: a refused request writes nothing. PATCH reads the current state, applies the merge patch and writes
/// an update guarded by the version it read, so a concurrent change is reported (409/412), never lost.</remarks>
internal sealed class EntityHandler
{
    private const string MetaPrefix = "X-Meta-";

    private readonly IWritePipeline _pipeline;
    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly JsonBodyReader _bodies;

    public EntityHandler(IWritePipeline pipeline, IWriteAheadLog wal, IDbWriter db, JsonBodyReader bodies)
    {
        _pipeline = pipeline;
        _wal = wal;
        _db = db;
        _bodies = bodies;
    }

    public async Task<IResult> GetAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        if ((CheckRoute(context, dtoType, entityId) ?? CheckReady(context)) is { } refused)
        {
            return refused;
        }

        StoredEntity? entity;
        try
        {
            entity = await _db.GetAsync(dtoType, entityId, cancellationToken);
        }
        catch (DbWriterException ex) when (ex.IsTransient)
        {
            return Problems.DbUnavailable(context, "The database is unavailable for reads: " + ex.Message);
        }

        if (entity is null)
        {
            return Problems.NotFound(context, $"No {dtoType} with id '{entityId}' exists.");
        }

        var etag = ETags.Format(entity.Lsn);
        context.Response.Headers.ETag = etag;
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Text(entity.Document.GetRawText(), "application/json", System.Text.Encoding.UTF8);
    }

    public async Task<IResult> WriteAsync(HttpContext context, WalOperation operation, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        var refused = CheckHeaders(context, out var expected);
        if ((CheckRoute(context, dtoType, entityId) ?? CheckReady(context) ?? refused) is { } problem)
        {
            return problem;
        }

        JsonDocument? body = null;
        try
        {
            if (operation != WalOperation.Delete)
            {
                (body, var error) = await _bodies.ReadObjectAsync(context, allowMergePatch: false, cancellationToken);
                if (error is not null)
                {
                    return error;
                }
            }

            return await SubmitAsync(context, operation, dtoType, entityId, body?.RootElement, expected, expected is not null, cancellationToken);
        }
        finally
        {
            body?.Dispose();
        }
    }

    public async Task<IResult> PatchAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        var refused = CheckHeaders(context, out var ifMatch);
        if ((CheckRoute(context, dtoType, entityId) ?? CheckReady(context) ?? refused) is { } problem)
        {
            return problem;
        }

        var (patch, error) = await _bodies.ReadObjectAsync(context, allowMergePatch: true, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        using (patch)
        {
            StoredEntity? current;
            try
            {
                current = await _db.GetAsync(dtoType, entityId, cancellationToken);
            }
            catch (DbWriterException ex) when (ex.IsTransient)
            {
                return Problems.DbUnavailable(context, "The database is unavailable; nothing was written: " + ex.Message);
            }

            if (current is null)
            {
                // A retry of a patch that deleted nothing but whose entity is gone since: the first outcome still wins.
                if (await _db.FindByRequestIdAsync(RequestIds.FromCaller(context)!, cancellationToken) is not null)
                {
                    return await SubmitAsync(context, WalOperation.Update, dtoType, entityId, patch!.RootElement, null, ifMatch is not null, cancellationToken);
                }

                return Problems.NotFound(context, $"No {dtoType} with id '{entityId}' exists; PATCH needs an existing entity.");
            }

            if (ifMatch is { } wanted && wanted != current.Lsn)
            {
                return Problems.Create(context, StatusCodes.Status412PreconditionFailed, ProblemTypes.PreconditionFailed, "Precondition failed",
                    $"If-Match names version {wanted.Value} but the entity is at version {current.Lsn.Value}; nothing was written.",
                    new Dictionary<string, object?> { ["currentLsn"] = current.Lsn.Value });
            }

            JsonElement merged;
            try
            {
                merged = JsonMergePatch.Apply(current.Document, patch!.RootElement);
            }
            catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
            {
                return Problems.Validation(context, "The merge patch cannot be applied: " + ex.Message, "body");
            }

            return await SubmitAsync(context, WalOperation.Update, dtoType, entityId, merged, current.Lsn, ifMatch is not null, cancellationToken);
        }
    }

    private async Task<IResult> SubmitAsync(
        HttpContext context, WalOperation operation, string dtoType, string entityId, JsonElement? payload, Lsn? expected, bool clientPrecondition,
        CancellationToken cancellationToken)
    {
        var caller = context.Items[NvCaller.ItemKey] as NvCaller;
        var request = new WriteRequest
        {
            RequestId = RequestIds.FromCaller(context)!,
            Operation = operation,
            DtoType = dtoType,
            EntityId = entityId,
            Payload = payload,
            UserId = caller?.UserId,
            Reason = context.Request.Headers["X-Reason"].ToString() is { Length: > 0 } reason ? reason : null,
            Metadata = Metadata(context),
            ExpectedLsn = expected,
        };

        try
        {
            var outcome = await _pipeline.WriteAsync(request, cancellationToken);
            return WriteResults.From(context, outcome, operation, dtoType, entityId, clientPrecondition);
        }
        catch (WriteValidationException ex) when (ex.IsTooLarge)
        {
            return Problems.TooLarge(context, ex.Message);
        }
        catch (WriteValidationException ex)
        {
            return Problems.Validation(context, ex.Message, ex.Field);
        }
        catch (WalFaultedException ex)
        {
            return Problems.WalFaulted(context, "The write was not acknowledged: " + ex.Message + " Nv accepts no more writes until it is restarted.");
        }
        catch (InvalidOperationException ex)
        {
            return Problems.NotReady(context, ex.Message);
        }
    }

    private static Dictionary<string, string>? Metadata(HttpContext context)
    {
        Dictionary<string, string>? metadata = null;
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name.Length > MetaPrefix.Length && name.StartsWith(MetaPrefix, StringComparison.OrdinalIgnoreCase))
            {
                metadata ??= new Dictionary<string, string>(StringComparer.Ordinal);
                metadata[name[MetaPrefix.Length..].ToLowerInvariant()] = values.ToString();
            }
        }

        return metadata;
    }

    private IResult? CheckReady(HttpContext context)
    {
        if (_wal.State == WalState.Faulted)
        {
            return Problems.WalFaulted(context, "The write-ahead log has failed; Nv accepts no writes until it is restarted (recovery keeps every durable record).");
        }

        return _pipeline.IsReady ? null : Problems.NotReady(context, "Boot replay has not finished or Nv is stopping; retry shortly.");
    }

    internal static IResult? CheckRoute(HttpContext context, string dtoType, string entityId)
    {
        if (!RequestValidator.IsValidDtoType(dtoType))
        {
            return Problems.Validation(context, "dtoType " + RequestValidator.DtoTypeRule + ".", "dtoType");
        }

        if (entityId.Length is 0 or > RequestValidator.MaxEntityIdLength || entityId.Any(char.IsControl))
        {
            return Problems.Validation(context, $"entityId must be 1-{RequestValidator.MaxEntityIdLength} characters without control characters.", "entityId");
        }

        return null;
    }

    private static IResult? CheckHeaders(HttpContext context, out Lsn? ifMatch)
    {
        ifMatch = null;
        if (RequestIds.FromCaller(context) is null)
        {
            return Problems.Validation(context, "Writes need an X-Request-Id header (the idempotency key: a retry with the same id returns the first outcome).", "X-Request-Id");
        }

        var header = context.Request.Headers.IfMatch.ToString();
        if (header.Length > 0 && header != "*")
        {
            if (!ETags.TryParse(header, out var lsn))
            {
                return Problems.Validation(context, "If-Match must be an ETag this API returned, like \"42\".", "If-Match");
            }

            ifMatch = lsn;
        }

        return null;
    }
}
