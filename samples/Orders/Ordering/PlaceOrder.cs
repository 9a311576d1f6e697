namespace Orders.Ordering;

/// <summary>The body of <c>POST /orders</c>.</summary>
internal sealed record PlaceOrder(string? CustomerId, IReadOnlyList<PlaceOrderLine>? Lines);

/// <summary>One requested line.</summary>
internal sealed record PlaceOrderLine(string? Sku, int Quantity, decimal UnitPrice);

/// <summary>The body of <c>POST /orders/{id}/cancel</c>.</summary>
internal sealed record CancelOrder(string? Reason);
