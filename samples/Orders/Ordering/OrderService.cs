using System.Text.Json;
using Nv.Audit;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Orders.Ordering;

/// <summary>The order use cases, written against <see cref="IWritePipeline"/> only: each change is one Nv write (durable in
/// the WAL before it is applied; audited with who, why and the before/after images), reads and history come from Nv.</summary>
internal sealed class OrderService(IWritePipeline nv)
{
    public const string DtoType = "Order";

    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>Places an order. The idempotency key is Nv's request id, and the order id is derived from it, so a retry
    /// returns the first placement and writes nothing.</summary>
    public async Task<(WriteOutcome Outcome, Order? Order)> PlaceAsync(PlaceOrder request, string idempotencyKey, string? user, CancellationToken cancellationToken)
    {
        var lines = request.Lines!.Select(l => new OrderLine(l.Sku!, l.Quantity, l.UnitPrice)).ToList();
        var order = new Order
        {
            Id = OrderRules.OrderId(idempotencyKey),
            CustomerId = request.CustomerId!,
            Lines = lines,
            Total = lines.Sum(l => l.Quantity * l.UnitPrice),
            Status = OrderStatus.Placed,
        };
        var outcome = await nv.WriteAsync(new WriteRequest
        {
            RequestId = idempotencyKey,
            Operation = WalOperation.Create,
            DtoType = DtoType,
            EntityId = order.Id,
            Payload = JsonSerializer.SerializeToElement(order, Json),
            UserId = user,
            Reason = "order placed",
            Metadata = new Dictionary<string, string> { ["customerId"] = order.CustomerId },
        }, cancellationToken);

        // A retry gets the first outcome; show the order as it is now.
        return (outcome, outcome.IsReplay ? await GetAsync(order.Id, cancellationToken) : order);
    }

    /// <summary>Cancels a placed order, guarded by the version it read: a concurrent change makes Nv reject the write
    /// (precondition failed) instead of overwriting it.</summary>
    /// <remarks>Idempotency keys are scoped to their operation: the cancellation's Nv request id is the key under a
    /// <c>cancel:</c> prefix, so the outcome looked up below is a cancellation's, never the placement that used the same
    /// key.</remarks>
    public async Task<CancelResult> CancelAsync(string id, CancelOrder request, string idempotencyKey, string? user, CancellationToken cancellationToken)
    {
        var requestId = "cancel:" + idempotencyKey;

        // A retry of a cancellation that already happened answers as the first attempt did.
        if (await nv.GetOutcomeAsync(requestId, user, cancellationToken) is { } earlier)
        {
            return earlier.Status switch
            {
                WriteStatus.Applied => CancelResult.Done,
                WriteStatus.Rejected => CancelResult.Conflict,
                _ => CancelResult.Pending, // durable, not applied yet
            };
        }

        var current = await nv.ReadAsync(DtoType, id, cancellationToken);
        if (current?.Deserialize<Order>(Json) is not { } order)
        {
            return CancelResult.NotFound;
        }

        if (order.Status != OrderStatus.Placed)
        {
            return CancelResult.NotPlaced;
        }

        var outcome = await nv.WriteAsync(new WriteRequest
        {
            RequestId = requestId,
            Operation = WalOperation.Update,
            DtoType = DtoType,
            EntityId = id,
            Payload = JsonSerializer.SerializeToElement(order with { Status = OrderStatus.Cancelled, CancelReason = request.Reason }, Json),
            ExpectedLsn = current.Lsn,
            UserId = user,
            Reason = request.Reason,
        }, cancellationToken);
        return outcome.Status switch
        {
            WriteStatus.Applied => CancelResult.Done,
            WriteStatus.Rejected => CancelResult.Conflict,
            _ => CancelResult.Pending,
        };
    }

    public async Task<Order?> GetAsync(string id, CancellationToken cancellationToken) =>
        (await nv.ReadAsync(DtoType, id, cancellationToken))?.Deserialize<Order>(Json);

    /// <summary>The order's changes, newest first, from Nv's audit trail.</summary>
    public async Task<(IReadOnlyList<OrderChange> Changes, string? Next)> HistoryAsync(string id, string? cursor, CancellationToken cancellationToken)
    {
        var page = await nv.GetHistoryAsync(DtoType, id, cursor, limit: 50, cancellationToken);
        return (page.Entries.Select(OrderChange.From).ToList(), page.NextCursor);
    }
}

/// <summary>What a cancellation did.</summary>
internal enum CancelResult
{
    Done,
    NotFound,
    NotPlaced,
    Conflict,
    Pending,
}

/// <summary>One change of an order, as the history endpoint shows it.</summary>
internal sealed record OrderChange(
    DateTimeOffset At, string Operation, string? UserId, string RequestId, string? Reason, long? Lsn, IReadOnlyList<OrderFieldChange> Changes)
{
    public static OrderChange From(AuditEntry entry) => new(
        entry.Timestamp, entry.Operation, entry.UserId, entry.RequestId, entry.Reason, entry.Lsn?.Value,
        entry.Changes.Select(c => new OrderFieldChange(c.Path, c.Before, c.After)).ToList());
}

/// <summary>One changed field.</summary>
internal sealed record OrderFieldChange(string Path, JsonElement? Before, JsonElement? After);
