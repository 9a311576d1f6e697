using System.Text.Json;

namespace Nv.Benchmarks.Support;

/// <summary>The entity every write scenario stores, about <c>bytes</c> long: <c>--payload repetitive</c> (the default, as in
/// every earlier figure: a name and one blob of 'x', which LZ4 shrinks to almost nothing) or <c>--payload realistic</c> (an
/// order-like document of varied words and numbers, seeded, which compresses about as much as typical JSON does).</summary>
/// <remarks>Compression makes the two differ: quote the kind with every figure.</remarks>
internal static class BenchPayload
{
    private static readonly string[] Words =
    [
        "express", "standard", "paid", "pending", "shipped", "warehouse", "berlin", "lisbon", "oslo", "retail", "wholesale", "gift",
        "discount", "priority", "return", "invoice", "customer", "account", "manual", "review", "blue", "green", "large", "small",
    ];

    public static string Kind(string[] args)
    {
        var i = Array.IndexOf(args, "--payload");
        var kind = i >= 0 && i + 1 < args.Length ? args[i + 1] : "repetitive";
        return kind is "repetitive" or "realistic" ? kind : throw new ArgumentException("--payload must be repetitive or realistic");
    }

    public static JsonElement Create(string kind, int bytes, int seed = 1) => JsonSerializer.SerializeToElement(Object(kind, bytes, seed));

    public static string CreateText(string kind, int bytes, int seed = 1) => JsonSerializer.Serialize(Object(kind, bytes, seed));

    private static object Object(string kind, int bytes, int seed)
    {
        if (kind == "repetitive")
        {
            return new { name = "entity", blob = new string('x', bytes) };
        }

        var random = new Random(seed);
        var lines = new List<object>();
        var size = 60;
        while (size < bytes)
        {
            var line = new
            {
                sku = $"{Words[random.Next(Words.Length)]}-{random.Next(100000):D5}",
                qty = random.Next(1, 20),
                price = Math.Round(random.NextDouble() * 500, 2),
                note = $"{Words[random.Next(Words.Length)]} {Words[random.Next(Words.Length)]} {random.Next(1000)}",
            };
            lines.Add(line);
            size += JsonSerializer.Serialize(line).Length + 1;
        }

        return new { name = $"order-{random.Next(1_000_000)}", status = Words[random.Next(Words.Length)], lines };
    }
}
