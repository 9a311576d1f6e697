using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Nv.Audit;

namespace Nv.Host.Http;

/// <summary>Answers audit queries from <see cref="IAuditSink"/>; every filter and cursor is checked and a bad one is a 400.</summary>
/// <remarks>A trail may be shared by several services (one MongoDB trail, a chain each): an entity's history and time
/// travel read this host's service's entries (<c>Nv:Pipeline:Service</c>) unless <c>?service=</c> names another, since
/// the same type and id in another service is another entity.</remarks>
internal sealed class AuditHandler
{
    private readonly IAuditSink _sink;
    private readonly HttpOptions _options;
    private readonly string _service;
    private readonly Nv.Wal.Protection.IDataKeyProvider? _keys;

    public AuditHandler(IAuditSink sink, IOptions<HttpOptions> options, IOptions<Pipeline.PipelineOptions> pipeline, Protection.KeyRing? keys = null)
    {
        _sink = sink;
        _options = options.Value;
        _service = pipeline.Value.Service;
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

        var (page, bad) = await QueryAsync(context, query!, cancellationToken);
        if (bad is not null)
        {
            return bad;
        }

        return page!.Entries.Count == 0
            ? Problems.NotFound(context, $"No audit entry carries request id '{requestId}'.")
            : Page(page);
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

        return await _sink.GetAsync(guid, cancellationToken) is { } entry
            ? Results.Json(AuditEntryView.From(AuditEntrySealing.OpenWith(entry, _keys)))
            : Problems.NotFound(context, $"No audit entry has id {guid}.");
    }

    /// <summary>Time travel: the after-image of the entity's latest change at or before <c>?at=</c>.</summary>
    public async Task<IResult> AsOfAsync(HttpContext context, string dtoType, string entityId, CancellationToken cancellationToken)
    {
        if (EntityHandler.CheckRoute(context, dtoType, entityId) is { } refused)
        {
            return refused;
        }

        if (!AuditQuery.TryParseTime(context.Request.Query["at"], out var at))
        {
            return Problems.Validation(context, "Query parameter 'at' must be an ISO-8601 timestamp with an offset, e.g. 2025-01-31T12:00:00Z.", "at");
        }

        var service = _service;
        if (context.Request.Query["service"] is { Count: > 0 } named)
        {
            if (named.Count > 1 || named[0]!.Length is 0 or > 256)
            {
                return Problems.Validation(context, "service must be given once, 1-256 characters.", "service");
            }

            service = named[0]!;
        }

        // "At or before": the sink's upper bound is exclusive, so ask for everything before the next tick; at the largest
        // timestamp there is no next tick (AddTicks throws), and "as of the end of time" means no upper bound at all.
        // Entries with the same timestamp are ordered by LSN (the WAL's order), not by id.
        var page = AuditEntrySealing.OpenWith(await _sink.QueryAsync(new AuditQuery
        {
            DtoType = dtoType,
            EntityId = entityId,
            Service = service,
            Category = AuditCategory.EntityMutation,
            To = at.UtcTicks == DateTimeOffset.MaxValue.UtcTicks ? null : at.AddTicks(1),
            Limit = 16,
        }, cancellationToken), _keys);
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

    public async Task<IResult> VerifyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var result = await _sink.VerifyAsync(cancellationToken);
        return Results.Json(result);
    }

    private async Task<IResult> PageAsync(HttpContext context, AuditQuery query, CancellationToken cancellationToken)
    {
        var (page, error) = await QueryAsync(context, query, cancellationToken);
        return error ?? Page(page!);
    }

    private async Task<(AuditPage? Page, IResult? Error)> QueryAsync(HttpContext context, AuditQuery query, CancellationToken cancellationToken)
    {
        try
        {
            return (AuditEntrySealing.OpenWith(await _sink.QueryAsync(query, cancellationToken), _keys), null);
        }
        catch (ArgumentException)
        {
            return (null, Problems.Validation(context, "cursor is not a cursor this API returned.", "cursor"));
        }
    }

    private static IResult Page(AuditPage page) => Results.Json(new AuditPageView(page.Entries.Select(AuditEntryView.From).ToList(), page.NextCursor));

    private (AuditQuery? Query, IResult? Error) ParseQuery(HttpContext context, AuditQuery seed)
    {
        var q = context.Request.Query;
        // A scoped route's path names what it reads (/requests/{id}, /entities/{type}/{id}/history, /users/{id}/activity):
        // a query parameter naming it again would read something else under that path's name (another entity's history,
        // another request's entries, other categories than an entity's changes), so it is refused, not applied.
        foreach (var name in FixedBy(seed))
        {
            if (q.ContainsKey(name))
            {
                return (null, Problems.Validation(context,
                    $"{name} is given by this route's path; it cannot also be a query parameter (use GET {AuditEndpoints.Prefix}/entries to search).", name));
            }
        }

        var query = seed with { Limit = _options.DefaultAuditPageSize };
        if (q["limit"] is { Count: > 0 } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit < 1 || limit > _options.MaxAuditPageSize)
            {
                return (null, Problems.Validation(context, $"limit must be an integer from 1 to {_options.MaxAuditPageSize}.", "limit"));
            }

            query = query with { Limit = limit };
        }

        foreach (var (name, apply) in TextFilters)
        {
            if (q[name] is { Count: > 0 } value)
            {
                if (value.Count > 1 || value[0]!.Length is 0 or > 256)
                {
                    return (null, Problems.Validation(context, $"{name} must be given once, 1-256 characters.", name));
                }

                query = apply(query, value[0]!);
            }
        }

        if (q["category"] is { Count: > 0 } category)
        {
            try
            {
                query = query with { Category = AuditCategoryNames.Parse(category.ToString()) };
            }
            catch (FormatException)
            {
                return (null, Problems.Validation(context,
                    "category must be one of entity-mutation, authentication, permission, system-events, service-start-stop, environment-change.", "category"));
            }
        }

        foreach (var name in new[] { "from", "to" })
        {
            if (q[name] is { Count: > 0 } text)
            {
                if (!AuditQuery.TryParseTime(text, out var time))
                {
                    return (null, Problems.Validation(context, $"{name} must be an ISO-8601 timestamp with an offset, e.g. 2025-01-31T12:00:00Z.", name));
                }

                query = name == "from" ? query with { From = time } : query with { To = time };
            }
        }

        if (query.From is { } start && query.To is { } end && start >= end)
        {
            // An empty range is a mistake (from and to swapped, say), not a question whose answer is "no entries".
            return (null, Problems.Validation(context, "from must be before to (from is inclusive, to exclusive).", "from"));
        }

        if (q["order"] is { Count: > 0 } order)
        {
            if (order.ToString() is not ("asc" or "desc"))
            {
                return (null, Problems.Validation(context, "order must be asc or desc.", "order"));
            }

            query = query with { Ascending = order.ToString() == "asc" };
        }

        if (q["cursor"] is { Count: > 0 } cursor)
        {
            if (cursor.Count > 1 || cursor[0]!.Length > 512)
            {
                return (null, Problems.Validation(context, "cursor is not a cursor this API returned.", "cursor"));
            }

            query = query with { Cursor = cursor.ToString() };
        }

        return (query, null);
    }

    // The filters a route's path (or its meaning: history is the entity's changes) sets.
    private static IEnumerable<string> FixedBy(AuditQuery seed)
    {
        if (seed.RequestId is not null)
        {
            yield return "requestId";
        }

        if (seed.DtoType is not null)
        {
            yield return "dtoType";
        }

        if (seed.EntityId is not null)
        {
            yield return "entityId";
        }

        if (seed.UserId is not null)
        {
            yield return "userId";
        }

        if (seed.Category is not null)
        {
            yield return "category";
        }
    }

    private static readonly (string Name, Func<AuditQuery, string, AuditQuery> Apply)[] TextFilters =
    [
        ("service", (q, v) => q with { Service = v }),
        ("operation", (q, v) => q with { Operation = v }),
        ("dtoType", (q, v) => q with { DtoType = v }),
        ("entityId", (q, v) => q with { EntityId = v }),
        ("userId", (q, v) => q with { UserId = v }),
        ("requestId", (q, v) => q with { RequestId = v }),
    ];
}
