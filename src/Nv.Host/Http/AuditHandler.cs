using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Nv.Audit;

namespace Nv.Host.Http;

/// <summary>Answers audit queries from <see cref="IAuditSink"/>; every filter and cursor is checked and a bad one is a 400;
/// a store that cannot answer is a 503 <c>audit-unavailable</c> (<see cref="AuditStoreRead"/>).</summary>
/// <remarks>A trail may be shared by several services (one MongoDB trail, a chain each): an entity's history and time
/// travel read this host's service's entries (<c>Nv:Pipeline:Service</c>) unless <c>?service=</c> names another, since
/// the same type and id in another service is another entity.</remarks>
internal sealed partial class AuditHandler
{
    private readonly IAuditSink _sink;
    private readonly HttpOptions _options;
    private readonly string _service;
    private readonly AuditReadLimit _limit;
    private readonly Nv.Wal.Protection.IDataKeyProvider? _keys;

    public AuditHandler(IAuditSink sink, IOptions<HttpOptions> options, IOptions<Pipeline.PipelineOptions> pipeline, AuditReadLimit limit,
        Protection.KeyRing? keys = null)
    {
        _sink = sink;
        _options = options.Value;
        _service = pipeline.Value.Service;
        _limit = limit;
        // Encryption at rest: entries are shown opened with their subjects' keys; erased ones as erased.
        _keys = keys is { Enabled: true } ? keys : null;
    }

    public async Task<IResult> ByRequestAsync(HttpContext context, string requestId, CancellationToken cancellationToken)
    {
        var (query, error) = ParseQuery(context, new AuditQuery { RequestId = requestId, Ascending = true });
        if (error is not null)
        {
            return error;
        }

        return await _limit.QueryAsync(context, async () =>
        {
            var (page, bad) = await QueryAsync(context, query!, cancellationToken);
            if (bad is not null)
            {
                return bad;
            }

            return page!.Entries.Count == 0
                ? Problems.NotFound(context, $"No audit entry carries request id '{requestId}'.")
                : Page(page);
        });
    }

    public async Task<IResult> HistoryAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        if (EntityHandler.CheckRoute(context, dtoType, entityId) is { } refused)
        {
            return refused;
        }

        var (query, error) = ParseQuery(context, new AuditQuery { DtoType = dtoType, EntityId = entityId, Category = AuditCategory.EntityMutation });
        return error ?? await PageAsync(context, query! with { Service = query!.Service ?? _service }, cancellationToken);
    }

    public async Task<IResult> UserActivityAsync(HttpContext context, string userId, CancellationToken cancellationToken)
    {
        var (query, error) = ParseQuery(context, new AuditQuery { UserId = userId });
        return error ?? await PageAsync(context, query!, cancellationToken);
    }

    public async Task<IResult> SearchAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var (query, error) = ParseQuery(context, new AuditQuery());
        return error ?? await PageAsync(context, query!, cancellationToken);
    }

    public async Task<IResult> EntryAsync(HttpContext context, string id, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var guid))
        {
            return Problems.Validation(context, "The audit entry id must be a UUID.", "id");
        }

        return await AuditStoreRead.RunAsync(() => _sink.GetAsync(guid, cancellationToken)) is { } entry
            ? Results.Json(AuditEntryView.From(AuditEntrySealing.OpenWith(entry, _keys)))
            : Problems.NotFound(context, $"No audit entry has id {guid}.");
    }

    /// <summary>Time travel: the after-image of the entity's latest change at or before <c>?at=</c>.</summary>
    public Task<IResult> AsOfAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        if (EntityHandler.CheckRoute(context, dtoType, entityId) is { } refused)
        {
            return Task.FromResult(refused);
        }

        if (!AuditQuery.TryParseTime(context.Request.Query["at"], out var at))
        {
            return Task.FromResult(Problems.Validation(context, "Query parameter 'at' must be an ISO-8601 timestamp with an offset, e.g. 2025-01-31T12:00:00Z.", "at"));
        }

        var service = _service;
        if (context.Request.Query["service"] is { Count: > 0 } named)
        {
            if (named.Count > 1 || named[0]!.Length is 0 or > 256)
            {
                return Task.FromResult(Problems.Validation(context, "service must be given once, 1-256 characters.", "service"));
            }

            service = named[0]!;
        }

        return _limit.QueryAsync(context, () => AsOfAsync(context, dtoType, entityId, service, at, cancellationToken));
    }

    private async Task<IResult> AsOfAsync(HttpContext context, string dtoType, string entityId, string service, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        // "At or before": the sink's upper bound is exclusive, so ask for everything before the next tick; at the largest
        // timestamp there is no next tick (AddTicks throws), and "as of the end of time" means no upper bound at all.
        // Entries with the same timestamp are ordered by LSN (the WAL's order), not by id.
        var page = AuditEntrySealing.OpenWith(await AuditStoreRead.RunAsync(() => _sink.QueryAsync(new AuditQuery
        {
            DtoType = dtoType,
            EntityId = entityId,
            Service = service,
            Category = AuditCategory.EntityMutation,
            To = at.UtcTicks == DateTimeOffset.MaxValue.UtcTicks ? null : at.AddTicks(1),
            Limit = 16,
        }, cancellationToken)), _keys);
        var latest = page.Entries
            .Where(e => e.Timestamp == page.Entries[0].Timestamp)
            .MaxBy(e => e.Lsn?.Value ?? 0);
        if (latest is { Erased: true } && latest.Operation != "delete")
        {
            // The entity existed then, but the state it had is gone with its data key: not "did not exist", not a deletion.
            return Problems.Create(context, StatusCodes.Status410Gone, ProblemTypes.Erased, "That state was erased",
                $"{dtoType} '{entityId}' existed at {at:O}, but the state written by its {latest.Operation} at {latest.Timestamp:O} "
                + $"(lsn {latest.Lsn?.Value}) cannot be read: it is sealed under a data key this host cannot open (destroyed by an erasure, or no master key).");
        }

        if (latest is null || latest.Operation == "delete" || latest.After is not { ValueKind: System.Text.Json.JsonValueKind.Object } after)
        {
            return Problems.Create(context, StatusCodes.Status404NotFound, ProblemTypes.DidNotExist, "Did not exist at that time",
                latest is null
                    ? $"{dtoType} '{entityId}' did not exist at {at:O}: the audit trail has no change to it at or before that time."
                    : $"{dtoType} '{entityId}' did not exist at {at:O}: it was deleted at {latest.Timestamp:O} (lsn {latest.Lsn?.Value}).");
        }

        if (latest.Lsn is { } lsn)
        {
            context.Response.Headers.ETag = ETags.Format(lsn);
        }

        return Results.Json(new EntityAsOfView(dtoType, entityId, at, latest.Lsn?.Value, latest.Timestamp, latest.Operation, latest.RequestId, after));
    }

    public Task<IResult> VerifyAsync(HttpContext context, CancellationToken cancellationToken) =>
        _limit.VerifyAsync(context, async () => Results.Json(await AuditStoreRead.RunAsync(() => _sink.VerifyAsync(cancellationToken))));

    private Task<IResult> PageAsync(HttpContext context, AuditQuery query, CancellationToken cancellationToken) =>
        _limit.QueryAsync(context, async () =>
        {
            var (page, error) = await QueryAsync(context, query, cancellationToken);
            return error ?? Page(page!);
        });

    private async Task<(AuditPage? Page, IResult? Error)> QueryAsync(HttpContext context, AuditQuery query, CancellationToken cancellationToken)
    {
        try
        {
            return (AuditEntrySealing.OpenWith(await AuditStoreRead.RunAsync(() => _sink.QueryAsync(query, cancellationToken)), _keys), null);
        }
        catch (ArgumentException)
        {
            return (null, Problems.Validation(context, "cursor is not a cursor this API returned.", "cursor"));
        }
    }

    private static IResult Page(AuditPage page) => Results.Json(new AuditPageView(page.Entries.Select(AuditEntryView.From).ToList(), page.NextCursor));
}
