namespace Orders.Ordering;

/// <summary>An order as stored (the entity's JSON document in Nv).</summary>
internal sealed record Order
{
    public required string Id { get; init; }

    public required string CustomerId { get; init; }

    public required IReadOnlyList<OrderLine> Lines { get; init; }

    public required decimal Total { get; init; }

    public required string Status { get; init; }

    public string? CancelReason { get; init; }
}

/// <summary>One line of an order.</summary>
internal sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice);

/// <summary>Order statuses.</summary>
internal static class OrderStatus
{
    public const string Placed = "placed";
    public const string Cancelled = "cancelled";
}
