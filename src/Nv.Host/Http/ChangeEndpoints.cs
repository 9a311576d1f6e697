using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Nv.Host.Changes;
using Nv.Host.Http.Auth;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary><c>GET /v1/changes?fromLsn=N[&amp;dtoType=T][&amp;follow=false]</c> (role <c>reader</c>): applied changes as
/// Server-Sent Events, in LSN order.</summary>
/// <remarks>
/// Each change is one event: <c>id:</c> where to resume after it (<c>"42"</c>: LSN 42 fully consumed, a single write or the
/// last item of a batch this stream sends; <c>"42.3"</c> for item 3 of the batch at LSN 42 when more of it follows),
/// <c>event: change</c>, <c>data:</c> the change as JSON (<see cref="ChangeEventView"/>). A client that reconnects with
/// <c>Last-Event-ID</c> (EventSource does it by itself) resumes right after that change; <c>Last-Event-ID</c> wins over
/// <c>fromLsn</c>. Without either, the stream starts at the oldest change held. <c>follow=false</c> ends the stream once
/// the changes applied at the time of the request are sent. A comment line is sent every 15 s while idle, so proxies keep
/// the connection. A position the WAL no longer holds answers 410 <c>changes-gone</c> (with <c>firstLsn</c>) before the
/// stream starts, or ends a running stream with an <c>event: gone</c> carrying the same problem. At most
/// <see cref="HttpOptions.MaxChangeFeedStreams"/> streams are open at once: one more is answered 503 <c>changes-busy</c> with
/// <c>Retry-After</c>; one API key holds at most <see cref="HttpOptions.MaxChangeFeedStreamsPerKey"/>: one more is 429
/// <c>too-many-streams</c> (<see cref="ChangeStreamLimit"/>).
/// </remarks>
internal static class ChangeEndpoints
{
    public const string Route = "/v1/changes";

    // What a client refused for the stream limit is told to wait: streams are long-lived, so sooner rarely finds a slot.
    private const string BusyRetryAfterSeconds = "5";

    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapChangeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet(Route, StreamAsync).RequireNvRole(NvRoles.Reader);
        return app;
    }

    private static async Task<IResult> StreamAsync(HttpContext context, IChangeFeed feed, IWritePipeline pipeline, IHostApplicationLifetime lifetime,
        ChangeStreamLimit streams)
    {
        var query = context.Request.Query;
        ChangePosition from;
        var lastEventId = context.Request.Headers["Last-Event-ID"].ToString();
        if (lastEventId.Length > 0)
        {
            if (!ChangePosition.TryParseAfter(lastEventId, out from))
            {
                return Problems.Validation(context, "Last-Event-ID must be an event id this feed sent, like \"42\" or \"42.3\".", "Last-Event-ID");
            }
        }
        else if (query.TryGetValue("fromLsn", out var fromText))
        {
            if (!long.TryParse(fromText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var lsn))
            {
                return Problems.Validation(context, "fromLsn must be a whole number (0: the oldest change held).", "fromLsn");
            }

            from = ChangePosition.At(new Lsn(lsn));
        }
        else
        {
            from = ChangePosition.At(Lsn.None);
        }

        var dtoType = query["dtoType"].ToString() is { Length: > 0 } type ? type : null;
        if (dtoType is not null && !RequestValidator.IsValidDtoType(dtoType))
        {
            return Problems.Validation(context, "dtoType must start with a letter, contain only letters, digits and '_', and be at most 64 characters.", "dtoType");
        }

        var follow = true;
        if (query.TryGetValue("follow", out var followText) && !bool.TryParse(followText.ToString(), out follow))
        {
            return Problems.Validation(context, "follow must be true or false.", "follow");
        }

        if (!pipeline.IsReady)
        {
            return Problems.NotReady(context, "Boot replay has not finished or Nv is stopping; retry shortly.");
        }

        try
        {
            feed.ThrowIfGone(from);
        }
        catch (ChangesGoneException ex)
        {
            return Gone(context, ex);
        }

        // Per key only for an authenticated caller: with authentication off there are no keys, and every caller is local.
        var key = context.Items[NvCaller.ItemKey] is NvCaller { Authenticated: true, UserId: { } name } ? name : null;
        switch (streams.TryEnter(key))
        {
            case ChangeStreamAdmission.HostFull:
                context.Response.Headers.RetryAfter = BusyRetryAfterSeconds;
                return Problems.Create(context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.ChangesBusy, "Too many change feed streams",
                    $"This host serves at most {streams.Max} change feed streams at once (Nv:Http:MaxChangeFeedStreams) and all are open; " +
                    "retry after Retry-After from the same position (Last-Event-ID).");
            case ChangeStreamAdmission.KeyFull:
                context.Response.Headers.RetryAfter = BusyRetryAfterSeconds;
                return Problems.Create(context, StatusCodes.Status429TooManyRequests, ProblemTypes.TooManyStreams, "Too many change feed streams for this key",
                    $"API key '{key}' already holds {streams.MaxPerKey} change feed streams, the most one key may (Nv:Http:MaxChangeFeedStreamsPerKey); " +
                    "close one, or retry after Retry-After from the same position (Last-Event-ID).");
        }

        try
        {
            // A stopping host ends its streams (clients reconnect with Last-Event-ID) instead of holding the shutdown.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            await WriteStreamAsync(context, feed, from, new ChangeFeedOptions { DtoType = dtoType, Follow = follow }, stop.Token);
            return Results.Empty;
        }
        finally
        {
            streams.Exit(key); // however the stream ended: the client went away, the host stops, caught up, gone, or a failure
        }
    }

    private static IResult Gone(HttpContext context, ChangesGoneException ex) =>
        Problems.Create(context, StatusCodes.Status410Gone, ProblemTypes.ChangesGone, "These changes are gone", ex.Message,
            new Dictionary<string, object?> { ["requestedLsn"] = ex.Requested.Value, ["firstLsn"] = ex.FirstAvailable.Value });

    private static async Task WriteStreamAsync(HttpContext context, IChangeFeed feed, ChangePosition from, ChangeFeedOptions options,
        CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await WriteAsync(response, ": nv change feed from " + from.Lsn.Value.ToString(CultureInfo.InvariantCulture) + "\nretry: 1000\n\n", cancellationToken);

        await using var changes = feed.ReadAsync(from, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            var next = changes.MoveNextAsync().AsTask();
            while (true)
            {
                if (!next.IsCompleted)
                {
                    // Idle: a comment keeps proxies from closing the stream; the pending read goes on.
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    var beat = Task.Delay(Heartbeat, idle.Token);
                    if (await Task.WhenAny(next, beat) != next)
                    {
                        await WriteAsync(response, ": keep-alive\n\n", cancellationToken);
                        continue;
                    }

                    await idle.CancelAsync();
                }

                if (!await next)
                {
                    return;
                }

                var change = changes.Current;
                var data = JsonSerializer.Serialize(new ChangeEventView(change.Id, change.Lsn.Value, change.IsBatchItem ? change.Position.Item : null,
                    change.RequestId, change.Operation, change.DtoType, change.EntityId, change.Version, change.After, change.Timestamp, change.UserId), Json);
                await WriteAsync(response, "id: " + change.Id + "\nevent: change\ndata: " + data + "\n\n", cancellationToken);
                next = changes.MoveNextAsync().AsTask();
            }
        }
        catch (ChangesGoneException ex)
        {
            var problem = JsonSerializer.Serialize(new
            {
                type = ProblemTypes.ChangesGone,
                title = "These changes are gone",
                status = StatusCodes.Status410Gone,
                detail = ex.Message,
                requestedLsn = ex.Requested.Value,
                firstLsn = ex.FirstAvailable.Value,
            }, Json);
            await WriteAsync(response, "event: gone\ndata: " + problem + "\n\n", CancellationToken.None);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
