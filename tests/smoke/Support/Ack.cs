using System.Globalization;

namespace Nv.Smoke.Tests.Support;

/// <summary>One acknowledged write, as printed by <c>nv load</c>: <c>ACK requestId status lsn operation dtoType entityId</c>.</summary>
internal sealed record Ack(string RequestId, string Status, long Lsn, string Operation, string DtoType, string EntityId)
{
    public static IReadOnlyList<Ack> Parse(IEnumerable<string> stdout) => stdout
        .Where(l => l.StartsWith("ACK ", StringComparison.Ordinal))
        .Select(l => l.Split(' '))
        .Where(p => p.Length == 7)
        .Select(p => new Ack(p[1], p[2], long.Parse(p[3], CultureInfo.InvariantCulture), p[4], p[5], p[6]))
        .ToList();
}
