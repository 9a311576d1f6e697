using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Orders.Ordering;

/// <summary>The service's own validation rules (Nv checks its generic limits again, but these are the domain's).</summary>
internal static partial class OrderRules
{
    public const int MaxLines = 50;
    public const int MaxQuantity = 1000;
    public const decimal MaxUnitPrice = 100_000m;

    /// <summary>Field errors of a new order (empty when it is valid), keyed as the JSON body names them.</summary>
    public static Dictionary<string, string[]> Validate(PlaceOrder order)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (order.CustomerId is null || !CustomerIdPattern().IsMatch(order.CustomerId))
        {
            errors["customerId"] = ["customerId is required: 1-64 letters, digits, '-' or '_'."];
        }

        if (order.Lines is not { Count: > 0 and <= MaxLines } lines)
        {
            errors["lines"] = [$"An order has 1 to {MaxLines} lines."];
            return errors;
        }

        var skus = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line is null)
            {
                errors[$"lines[{i}]"] = ["A line cannot be null."];
                continue;
            }

            if (line.Sku is null || !SkuPattern().IsMatch(line.Sku))
            {
                errors[$"lines[{i}].sku"] = ["sku is 3-32 upper-case letters, digits or '-'."];
            }
            else if (!skus.Add(line.Sku))
            {
                errors[$"lines[{i}].sku"] = [$"sku {line.Sku} appears twice; put the quantities on one line."];
            }

            if (line.Quantity is < 1 or > MaxQuantity)
            {
                errors[$"lines[{i}].quantity"] = [$"quantity is 1 to {MaxQuantity}."];
            }

            if (line.UnitPrice <= 0 || line.UnitPrice > MaxUnitPrice || decimal.Round(line.UnitPrice, 2) != line.UnitPrice)
            {
                errors[$"lines[{i}].unitPrice"] = [$"unitPrice is more than 0 and at most {MaxUnitPrice}, in cents."];
            }
        }

        return errors;
    }

    /// <summary>Field errors of a cancellation.</summary>
    public static Dictionary<string, string[]> Validate(CancelOrder cancel)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(cancel.Reason) || cancel.Reason.Length > 200)
        {
            errors["reason"] = ["reason is required, at most 200 characters."];
        }

        return errors;
    }

    /// <summary>Whether an idempotency key is usable (it becomes Nv's request id).</summary>
    public static bool IsValidKey(string? key) => key is { Length: >= 8 and <= 100 } && KeyPattern().IsMatch(key);

    /// <summary>The order id of a placement: derived from its idempotency key, so a retry names the same order.</summary>
    public static string OrderId(string idempotencyKey) =>
        "ord-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))[..20];

    /// <summary>Whether <paramref name="id"/> can be an order id (anything else is simply not found).</summary>
    public static bool IsOrderId(string id) => OrderIdPattern().IsMatch(id);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex CustomerIdPattern();

    [GeneratedRegex("^[A-Z0-9-]{3,32}$")]
    private static partial Regex SkuPattern();

    [GeneratedRegex("^[A-Za-z0-9_.:-]+$")]
    private static partial Regex KeyPattern();

    [GeneratedRegex("^ord-[0-9a-f]{20}$")]
    private static partial Regex OrderIdPattern();
}
