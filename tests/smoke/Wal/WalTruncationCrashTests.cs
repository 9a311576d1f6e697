using System.Globalization;
using Nv.Smoke.Tests.Support;
using Nv.Wal;

namespace Nv.Smoke.Tests.Wal;

/// <summary>
/// SIGKILL a many-writer appender right after one of its WAL truncations (or at a random moment), again and again on the
/// same directory, with 4 KiB pages and 64 KiB segments so every run crosses pages and segments and truncates into the
/// middle of the log; every restart must open, and every acknowledged record at or above the first LSN the log holds
/// must be there with its request id and payload.
/// </summary>
/// <remarks>
/// <para>What it catches: FasterLog writes the pages of one flush concurrently, so a kill can leave a later page (even its
/// commit record) on disk while the end of the earlier page never landed. Recovery must cut those never-acknowledged
/// records instead of refusing to open (CrashWindowTests "after-wal-truncate" failed that way: "LSN 118 does not follow
/// LSN 112 ... below the durable point"). Without the fix a full run failed at cycle 240 (a plain driver of the same
/// child hit it after 23 and 196 cycles); the quick size rarely catches it.</para>
/// <para>Default: 12 cycles, ~15 s. <c>NV_SMOKE_FULL=1</c>: 500 cycles (about 4 minutes). The seed is printed and in
/// every failure; <c>NV_TEST_SEED=n</c> replays the choices (the kill timing still varies).</para>
/// </remarks>
public sealed class WalTruncationCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly int[] Fills = [60, 300, 700, 1500];

    [Fact]
    public async Task Every_acknowledged_record_survives_SIGKILLs_right_after_truncations()
    {
        var seed = WalSmokeSettings.Seed();
        var full = WalSmokeSettings.Full;
        var log = TestContext.Current.TestOutputHelper;
        log?.WriteLine($"seed {seed} (rerun with NV_TEST_SEED={seed}); full={full}");
        var random = new Random(seed);
        using var dir = new TempDirectory("waltrunc");
        var options = new WalOptions
        {
            Directory = dir.Path,
            SegmentSizeBits = 16,
            PageSizeBits = 12,
            MemorySizeBits = 15,
            MaxRecordBytes = (1 << 12) - 64,
        };
        var acks = new Dictionary<long, string>();
        var fills = new Dictionary<string, int>(StringComparer.Ordinal);
        var cycles = full ? 500 : 12;
        var truncationKills = 0;
        for (var cycle = 0; cycle < cycles; cycle++)
        {
            var context = $"seed {seed}, cycle {cycle}";
            var run = $"c{cycle}";
            var fill = Fills[random.Next(Fills.Length)];
            fills[run] = fill;
            var writers = new[] { 2, 6, 16 }[random.Next(3)];
            var afterTruncation = random.Next(4) != 0;
            var truncations = random.Next(1, 12);
            string[] args =
            [
                "--dir", options.Directory, "--run", run, "--writers", writers.ToString(CultureInfo.InvariantCulture),
                "--fill", fill.ToString(CultureInfo.InvariantCulture),
                "--segment-bits", "16", "--page-bits", "12", "--memory-bits", "15",
                "--watermarks", new[] { 1, 3, 5, 10 }[random.Next(4)].ToString(CultureInfo.InvariantCulture), "--truncate",
            ];
            using var child = WalChildProcess.Start(args);
            var open = await OpenLineAsync(child);
            Assert.True(open is not null, $"{context}: the child did not open\n{child.Describe()}");
            Assert.True(open.StartsWith("OPEN ", StringComparison.Ordinal), $"{context}: the restart refused the log: {open}\n{child.Describe()}");
            var last = long.Parse(Field(open, "last"), CultureInfo.InvariantCulture);
            var maxAck = acks.Count == 0 ? 0 : acks.Keys.Max();
            Assert.True(last >= maxAck, $"{context}: the log reopened at LSN {last} but LSN {maxAck} was acknowledged\n{open}");

            var killed = afterTruncation
                ? await KillAfterAsync(child, "TRUNCATED", truncations)
                : await KillAfterAsync(child, "ACK ", random.Next(20, 400));
            truncationKills += killed && afterTruncation ? 1 : 0;
            if (!killed)
            {
                child.Kill(); // the time ran out: kill wherever it is
            }

            var lines = child.Stdout;
            var bad = lines.FirstOrDefault(l => l.StartsWith("FAULT", StringComparison.Ordinal) || l.StartsWith("ERROR", StringComparison.Ordinal));
            Assert.True(bad is null, $"{context}: the child reported a failure: {bad}\n{child.Describe()}");
            var before = acks.Count;
            WalChildRecords.CollectAcks(lines, acks, context);
            log?.WriteLine($"cycle {cycle}: {writers} writers, fill {fill}, killed {(afterTruncation ? $"after truncation {truncations}" : "after some acks")}; "
                + $"{open}; {acks.Count - before} new acks");
        }

        await using var wal = WriteAheadLog.Open(options);
        var first = wal.GetStatistics().FirstLsn.Value;
        var records = new Dictionary<long, WalRecord>();
        await foreach (var record in wal.ReadAsync(new Lsn(Math.Max(1, first)), TestContext.Current.CancellationToken))
        {
            records[record.Lsn.Value] = record;
            var run = record.RequestId[..record.RequestId.IndexOf('-', StringComparison.Ordinal)];
            Assert.True(record.Payload.GetRawText() == WalChildRecords.PayloadJson(record.RequestId, fills[run]),
                $"seed {seed}: LSN {record.Lsn} ({record.RequestId}) payload is damaged");
        }

        log?.WriteLine($"final: LSN {first}..{wal.LastLsn}, {records.Count} records, {acks.Count} acknowledged; recovery: {wal.Recovery.Detail}");
        foreach (var (lsn, rid) in acks.Where(a => a.Key >= first).OrderBy(a => a.Key))
        {
            Assert.True(records.TryGetValue(lsn, out var record) && record.RequestId == rid,
                $"seed {seed}: acknowledged LSN {lsn} ({rid}) is missing or different ({(record is null ? "absent" : record.RequestId)})");
        }

        Assert.True(acks.Count > 0, $"seed {seed}: nothing was acknowledged; the test proved nothing");
        Assert.True(truncationKills >= 1, $"seed {seed}: no kill landed right after a truncation");
    }

    /// <summary>The child's <c>OPEN ..</c> or <c>OPEN-FAILED ..</c> line, or null when neither came in time.</summary>
    private static async Task<string?> OpenLineAsync(WalChildProcess child)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Timeout)
        {
            var line = child.Stdout.FirstOrDefault(l => l.StartsWith("OPEN ", StringComparison.Ordinal) || l.StartsWith("OPEN-FAILED", StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(5);
        }

        return null;
    }

    /// <summary>Kills the child the moment the <paramref name="count"/>th line starting with <paramref name="prefix"/>
    /// arrives; false when it did not come within the time limit.</summary>
    private static async Task<bool> KillAfterAsync(WalChildProcess child, string prefix, int count)
    {
        var killed = child.KillOnLineAsync(prefix, count);
        return await Task.WhenAny(killed, Task.Delay(TimeSpan.FromSeconds(20))) == killed;
    }

    private static string Field(string line, string name)
    {
        var start = line.IndexOf(name + "=", StringComparison.Ordinal) + name.Length + 1;
        var end = line.IndexOf(' ', start);
        return end < 0 ? line[start..] : line[start..end];
    }
}
