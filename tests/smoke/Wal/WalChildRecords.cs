using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Nv.Wal;

namespace Nv.Smoke.Tests.Wal;

/// <summary>What the WAL child acknowledged, and the checks every recovered log must pass.</summary>
internal static class WalChildRecords
{
    /// <summary>Characters of deterministic fill per payload (the child's default <c>--fill</c>).</summary>
    public const int Fill = 200;

    /// <summary>The payload the child writes for a request id; identical to <c>Nv.Smoke.WalChild.ChildPayload.Json</c>.</summary>
    public static string PayloadJson(string requestId, int fillChars = Fill)
    {
        var hex = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)));
        var fill = new StringBuilder(fillChars);
        while (fill.Length < fillChars)
        {
            fill.Append(hex, 0, Math.Min(hex.Length, fillChars - fill.Length));
        }

        return $$"""{"rid":"{{requestId}}","fill":"{{fill}}"}""";
    }

    /// <summary>Adds the <c>ACK lsn requestId</c> lines to <paramref name="acks"/>; the same LSN acknowledged for two requests fails.</summary>
    public static void CollectAcks(IEnumerable<string> lines, Dictionary<long, string> acks, string context)
    {
        foreach (var line in lines)
        {
            if (!line.StartsWith("ACK ", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line.Split(' ');
            var lsn = long.Parse(parts[1], CultureInfo.InvariantCulture);
            if (acks.TryGetValue(lsn, out var earlier) && earlier != parts[2])
            {
                Assert.Fail($"{context}: LSN {lsn} acknowledged twice, for {earlier} and {parts[2]}");
            }

            acks[lsn] = parts[2];
        }
    }

    /// <summary>Opens the log in-process (plain recovery, no fault injection) and reads every record.</summary>
    public static async Task<(List<WalRecord> Records, WalRecoveryReport Recovery)> ReadAllAsync(WalOptions options)
    {
        await using var wal = WriteAheadLog.Open(options);
        var records = new List<WalRecord>();
        await foreach (var record in wal.ReadAsync(new Lsn(1), TestContext.Current.CancellationToken))
        {
            records.Add(record);
        }

        Assert.Equal(wal.LastLsn, records.Count == 0 ? Lsn.None : records[^1].Lsn);
        return (records, wal.Recovery);
    }

    /// <summary>
    /// Every acknowledged LSN is present with its request id; LSNs run densely from 1 with no duplicate request ids;
    /// every record present (acknowledged or not) carries exactly the payload its request id determines.
    /// </summary>
    public static void AssertIntact(IReadOnlyList<WalRecord> records, IReadOnlyDictionary<long, string> acks, string context)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            Assert.True(r.Lsn.Value == i + 1, $"{context}: record #{i} has LSN {r.Lsn}, expected {i + 1} (LSNs must be dense)");
            Assert.True(seen.Add(r.RequestId), $"{context}: request {r.RequestId} appears twice (second at LSN {r.Lsn})");
            Assert.True(r.EntityId == r.RequestId, $"{context}: LSN {r.Lsn} entity {r.EntityId} != request {r.RequestId}");
            var expected = PayloadJson(r.RequestId);
            Assert.True(r.Payload.GetRawText() == expected, $"{context}: LSN {r.Lsn} ({r.RequestId}) payload is damaged: {r.Payload.GetRawText()}");
        }

        foreach (var (lsn, rid) in acks.OrderBy(a => a.Key))
        {
            Assert.True(lsn >= 1 && lsn <= records.Count,
                $"{context}: acknowledged LSN {lsn} ({rid}) is missing; the log holds LSN 1..{records.Count}");
            Assert.True(records[(int)lsn - 1].RequestId == rid,
                $"{context}: acknowledged LSN {lsn} should be {rid} but is {records[(int)lsn - 1].RequestId}");
        }
    }
}
