using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Nv.DbWriter;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Turns entity HTTP requests into pipeline writes and database reads.</summary>
/// <remarks>Everything about the request (ids, headers, body) is checked before the pipeline is called, and the pipeline
/// validates again: a refused request writes nothing. PATCH reads the current state, applies the merge patch and writes
/// an update guarded by the version it read, so a concurrent change is reported (409/412), never lost.</remarks>
internal sealed partial class EntityHandler
{
    private const string MetaPrefix = "X-Meta-";

    private readonly IWritePipeline _pipeline;
    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly JsonBodyReader _bodies;
    private readonly ILogger _logger;

    public EntityHandler(IWritePipeline pipeline, IWriteAheadLog wal, IDbWriter db, JsonBodyReader bodies,
        ILogger<EntityHandler> logger)
    {
        _pipeline = pipeline;
        _wal = wal;
        _db = db;
        _bodies = bodies;
        _logger = logger;
    }

    public async Task<IResult> GetAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        entityId = EntityIdOf(context, entityId);
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
            return Problems.DbUnavailable(context, _logger, ex, Problems.DbUnavailableDetail);
        }

        if (entity is null)
        {
            return Problems.NotFound(context, $"No {dtoType} with id '{entityId}' exists.");
        }

        var etag = ETags.Format(entity.Lsn);
        context.Response.Headers.ETag = etag;
        DtoVersionHeader.Write(context, entity.DtoVersion);
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Text(entity.Document.GetRawText(), "application/json", System.Text.Encoding.UTF8);
    }

    public async Task<IResult> WriteAsync(HttpContext context, WalOperation operation, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        entityId = EntityIdOf(context, entityId);
        var refused = CheckHeaders(context, out var expected);
        if ((CheckRoute(context, dtoType, entityId) ?? CheckReady(context) ?? refused) is { } problem)
        {
            return problem;
        }

        if (!DtoVersionHeader.TryRead(context, out var version))
        {
            return DtoVersionHeader.Invalid(context);
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

            return await SubmitAsync(context, operation, dtoType, entityId, body?.RootElement, expected, expected is not null, null, version ?? 1, cancellationToken);
        }
        finally
        {
            body?.Dispose();
        }
    }

    public async Task<IResult> PatchAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        entityId = EntityIdOf(context, entityId);
        var refused = CheckHeaders(context, out var ifMatch);
        if ((CheckRoute(context, dtoType, entityId) ?? CheckReady(context) ?? refused) is { } problem)
        {
            return problem;
        }

        // A patch keeps the entity's DTO version unless the caller names another one.
        if (!DtoVersionHeader.TryRead(context, out var version))
        {
            return DtoVersionHeader.Invalid(context);
        }

        var (patch, error) = await _bodies.ReadObjectAsync(context, allowMergePatch: true, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        using (patch)
        {
            // A retry must match the patch as sent, not the state it merges into (other writes may have changed it since).
            var fingerprint = RequestFingerprint.Compute("patch", dtoType, entityId,
                System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(patch!.RootElement));
            StoredEntity? current;
            try
            {
                current = await _db.GetAsync(dtoType, entityId, cancellationToken);
            }
            catch (DbWriterException ex) when (ex.IsTransient)
            {
                return Problems.DbUnavailable(context, _logger, ex,
                    "The database is unavailable; nothing was written. Retry shortly with the same X-Request-Id; the cause is in the host's log under this request id.");
            }

            if (current is null || (ifMatch is { } expected && expected != current.Lsn))
            {
                // A retry of a patch that already happened (the entity has moved on since, or is gone): the first outcome
                // wins, whatever the state it would merge into or the version its If-Match named now.
                var key = new RequestKey((context.Items[NvCaller.ItemKey] as NvCaller)?.UserId ?? string.Empty, RequestIds.FromCaller(context)!);
                if ((await _db.FindRequestsAsync([key], cancellationToken)).ContainsKey(key))
                {
                    // Guarded by the stale If-Match: should the outcome be purged before the pipeline looks again, this
                    // patch as sent is refused as a failed precondition instead of replacing the entity.
                    return await SubmitAsync(context, WalOperation.Update, dtoType, entityId, patch!.RootElement, current is null ? null : ifMatch,
                        ifMatch is not null, fingerprint, version ?? current?.DtoVersion ?? 1, cancellationToken);
                }
            }

            if (current is null)
            {
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

            return await SubmitAsync(context, WalOperation.Update, dtoType, entityId, merged, current.Lsn, ifMatch is not null, fingerprint,
                version ?? current.DtoVersion, cancellationToken);
        }
    }

    private async Task<IResult> SubmitAsync(
        HttpContext context, WalOperation operation, string dtoType, string entityId, JsonElement? payload, Lsn? expected, bool clientPrecondition,
        string? fingerprint, int version, CancellationToken cancellationToken)
    {
        var caller = context.Items[NvCaller.ItemKey] as NvCaller;
        if (!AckPreference.TryRead(context, out var ack))
        {
            return Problems.Validation(context, "Prefer: nv-ack must be durable, applied or audited.", "Prefer");
        }

        var request = new WriteRequest
        {
            Ack = ack,
            RequestId = RequestIds.FromCaller(context)!,
            Operation = operation,
            DtoType = dtoType,
            EntityId = entityId,
            Payload = payload,
            Version = version,
            UserId = caller?.UserId,
            Reason = context.Request.Headers["X-Reason"].ToString() is { Length: > 0 } reason ? reason : null,
            Metadata = Metadata(context),
            ExpectedLsn = expected,
            Fingerprint = fingerprint,
        };

        try
        {
            var outcome = await _pipeline.WriteAsync(request, cancellationToken);
            if (ack is { } preferred)
            {
                AckPreference.Applied(context, outcome.Status, outcome.IsAudited);
            }

            return WriteResults.From(context, outcome, operation, dtoType, entityId, clientPrecondition);
        }
        catch (NvException ex) when (WriteProblems.Handles(ex))
        {
            // Only the pipeline's own refusals are answered here (PipelineUnavailableException is the 503 not-ready); any
            // other exception is a fault, answered 500 with a generic body and logged by ErrorMiddleware.
            return WriteProblems.For(context, ex, "write");
        }
    }

    internal static Dictionary<string, string>? Metadata(HttpContext context)
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

    /// <summary>The entity id the client named: its path segment percent-decoded exactly once (RFC 3986).</summary>
    /// <remarks>Kestrel decodes the path but leaves an encoded slash ("%2F") encoded, so the route value of
    /// <c>..%2F..%2Fetc</c> is that text, which any later decoding turns into <c>../../etc</c>; and a double-encoded
    /// <c>%252F</c> arrives as the same text. Only the raw request target tells them apart, so a route value holding
    /// "%2F" is decoded from it (and refused by the id alphabet if it names a '/').</remarks>
    internal static string EntityIdOf(HttpContext context, string routeValue)
    {
        if (!routeValue.Contains("%2F", StringComparison.OrdinalIgnoreCase))
        {
            return routeValue;
        }

        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
        var path = raw is null ? null : raw.Split('?', 2)[0];
        var segment = path is null || !path.StartsWith('/') ? null : path.TrimEnd('/')[(path.TrimEnd('/').LastIndexOf('/') + 1)..];
        return segment is null ? routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase) : Uri.UnescapeDataString(segment);
    }

    internal static IResult? CheckRoute(HttpContext context, string dtoType, string entityId)
    {
        if (!RequestValidator.IsValidDtoType(dtoType))
        {
            return Problems.Validation(context, "dtoType " + RequestValidator.DtoTypeRule + ".", "dtoType");
        }

        if (RequestValidator.EntityIdProblem(entityId) is { } problem)
        {
            return Problems.Validation(context, $"entityId {problem} (ids are 1-{RequestValidator.MaxEntityIdLength} printable characters, " +
                "without '/', '\\', control or format characters, and not '.' or '..').", "entityId");
        }

        return null;
    }

    private static IResult? CheckHeaders(HttpContext context, out Lsn? ifMatch)
    {
        ifMatch = null;
        if (RequestIds.Conflict(context) is { } conflict)
        {
            return Problems.Validation(context, conflict, RequestIds.IdempotencyKeyHeader);
        }

        if (RequestIds.FromCaller(context) is null)
        {
            return Problems.Validation(context,
                "Writes need an X-Request-Id (or Idempotency-Key) header: the idempotency key; a retry with the same id returns the first outcome.",
                "X-Request-Id");
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
