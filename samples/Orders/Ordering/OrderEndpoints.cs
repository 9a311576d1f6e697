using Nv;
using Nv.Host.Pipeline;

namespace Orders.Ordering;

/// <summary>The Orders API: <c>POST /orders</c>, <c>GET /orders/{id}</c>, <c>POST /orders/{id}/cancel</c>,
/// <c>GET /orders/{id}/history</c>. Changes need an <c>Idempotency-Key</c> header (a retry with the same key changes
/// nothing twice); <c>X-User</c> names who acts (it goes to the audit trail).</summary>
internal static class OrderEndpoints
{
    private const string KeyHeader = "Idempotency-Key";

    public static IEndpointRouteBuilder MapOrderEndpoints(this IEndpointRouteBuilder app)
    {
        var orders = app.MapGroup("/orders");
        orders.MapPost("/", PlaceAsync);
        orders.MapGet("/{id}", GetAsync);
        orders.MapPost("/{id}/cancel", CancelAsync);
        orders.MapGet("/{id}/history", HistoryAsync);
        return app;
    }

    private static async Task<IResult> PlaceAsync(HttpContext context, PlaceOrder? body, OrderService orders)
    {
        if (Key(context) is not { } key)
        {
            return MissingKey();
        }

        if (body is null)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["A JSON order is required."] });
        }

        if (OrderRules.Validate(body) is { Count: > 0 } errors)
        {
            return Results.ValidationProblem(errors);
        }

        return await Guard(async () =>
        {
            var (outcome, order) = await orders.PlaceAsync(body, key, User(context), context.RequestAborted);
            return outcome.Status switch
            {
                WriteStatus.Applied => Results.Created($"/orders/{order!.Id}", order),
                WriteStatus.Pending or WriteStatus.Accepted => Results.Accepted($"/orders/{OrderRules.OrderId(key)}",
                    new { id = OrderRules.OrderId(key), status = "pending", detail = outcome.Detail }),
                _ => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Order not placed", detail: outcome.Detail),
            };
        });
    }

    private static async Task<IResult> GetAsync(string id, OrderService orders, CancellationToken cancellationToken)
    {
        if (!OrderRules.IsOrderId(id))
        {
            return NotFound(id);
        }

        return await Guard(async () => await orders.GetAsync(id, cancellationToken) is { } order ? Results.Ok(order) : NotFound(id));
    }

    private static async Task<IResult> CancelAsync(HttpContext context, string id, CancelOrder? body, OrderService orders)
    {
        if (Key(context) is not { } key)
        {
            return MissingKey();
        }

        if (!OrderRules.IsOrderId(id))
        {
            return NotFound(id);
        }

        if (OrderRules.Validate(body ?? new CancelOrder(null)) is { Count: > 0 } errors)
        {
            return Results.ValidationProblem(errors);
        }

        return await Guard(async () =>
        {
            var result = await orders.CancelAsync(id, body!, key, User(context), context.RequestAborted);
            return result switch
            {
                CancelResult.Done => Results.Ok(await orders.GetAsync(id, context.RequestAborted)),
                CancelResult.NotFound => NotFound(id),
                CancelResult.NotPlaced => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not cancellable",
                    detail: $"Order {id} is not in status 'placed'."),
                CancelResult.Conflict => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Changed concurrently",
                    detail: $"Order {id} changed while it was being cancelled; read it and try again."),
                _ => Results.Accepted($"/orders/{id}", new { id, status = "pending" }),
            };
        });
    }

    private static async Task<IResult> HistoryAsync(string id, string? cursor, OrderService orders, CancellationToken cancellationToken)
    {
        if (!OrderRules.IsOrderId(id))
        {
            return NotFound(id);
        }

        return await Guard(async () =>
        {
            var (changes, next) = await orders.HistoryAsync(id, cursor, cancellationToken);
            return changes.Count == 0 && cursor is null ? NotFound(id) : Results.Ok(new { changes, next });
        });
    }

    // Nv's typed errors become HTTP answers: a temporary condition is a 503 the client may retry (with the same key),
    // a malformed cursor a 400, a key reused for a different request a 422, a key whose first request is still being
    // decided a 409.
    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (ArgumentException ex)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { [ex.ParamName ?? "request"] = [ex.Message] });
        }
        catch (IdempotencyKeyReusedException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency key reused", detail: ex.Message);
        }
        catch (RequestInProgressException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Request in progress", detail: ex.Message);
        }
        catch (NvException ex) when (ex.IsTransient || ex is Nv.Wal.WalFaultedException)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Try again later", detail: ex.Message);
        }
    }

    private static string? Key(HttpContext context) =>
        context.Request.Headers[KeyHeader].ToString() is var key && OrderRules.IsValidKey(key) ? key : null;

    private static string? User(HttpContext context) =>
        context.Request.Headers["X-User"].ToString() is { Length: > 0 and <= 64 } user ? user : null;

    private static IResult MissingKey() => Results.ValidationProblem(new Dictionary<string, string[]>
    {
        [KeyHeader] = [$"Changes need an {KeyHeader} header: 8-100 letters, digits or '_.:-'; a retry with the same key changes nothing twice."],
    });

    private static IResult NotFound(string id) => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such order", detail: $"No order has id '{id}'.");
}
