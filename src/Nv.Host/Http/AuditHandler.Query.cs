using System.Globalization;
using Microsoft.AspNetCore.Http;
using Nv.Audit;

namespace Nv.Host.Http;

/// <summary>The query parameters of the audit lists, each checked (a bad one is a 400).</summary>
internal sealed partial class AuditHandler
{
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

        var query = seed with { Limit = _options.DefaultAuditPageSize, MaxBytes = _options.MaxAuditPageBytes };
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
