using System.Globalization;
using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Wal;
using Nv.Wal;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>The WAL child (many writers, tiny segments so the log rotates, watermarks persisted and the log truncated
/// as it goes) recorded
/// under strace, SIGKILLed under load, and cut into power-loss images: every image must reopen with every record
/// acknowledged before its cut point, densely, each intact. With the WAL's <c>O_SYNC</c> switched off (the hidden test
/// switch) the same harness must report lost acknowledged writes: the negative control that proves it can fail.</summary>
/// <remarks>CI cuts each run into a few images (seeded, seed printed, <c>NV_TEST_SEED</c> replays);
/// <c>NV_POWERLOSS_IMAGES=N</c> or <c>NV_SMOKE_FULL=1</c> (60) cut many more.</remarks>
public sealed class WalPowerLossTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Every_write_acknowledged_before_a_power_loss_survives_it()
    {
        FaultTools.SkipOrFailUnless(FaultTools.Strace);
        var seed = WalSmokeSettings.Seed();
        var random = new Random(seed);
        var log = TestContext.Current.TestOutputHelper;
        using var dir = new TempDirectory("wal-powerloss");
        var run = await RecordAsync(dir.Path, seed, random, unsafeNoSync: false, watermarks: true);
        var plan = PowerLossSettings.Plan(run.Model, random, PowerLossSettings.Images(ci: 8));
        log?.WriteLine($"seed {seed} (rerun with NV_TEST_SEED={seed}): {run.Acks.Count} acknowledged, {run.Model.DataOpCount} writes traced, "
            + $"{plan.Count} images");
        for (var i = 0; i < plan.Count; i++)
        {
            var (cut, policy, imageSeed) = plan[i];
            var image = Path.Combine(dir.Path, "image-" + i.ToString(CultureInfo.InvariantCulture));
            var info = run.Model.Materialize(cut, policy, imageSeed, image);
            var acked = AckedBy(run.Acks, cut);
            var problems = await CheckAsync(image, acked);
            var context = $"seed {seed} (NV_TEST_SEED={seed}), image {i}: {info}; {acked.Count} acknowledged before the cut";
            Assert.True(problems.Count == 0, $"{context}:\n{string.Join('\n', problems.Take(20))}");
            log?.WriteLine(context);
            Directory.Delete(image, recursive: true);
        }
    }

    [Fact]
    public async Task Without_O_SYNC_on_the_WAL_the_harness_reports_lost_acknowledged_writes()
    {
        FaultTools.SkipOrFailUnless(FaultTools.Strace);
        var seed = WalSmokeSettings.Seed();
        var random = new Random(seed);
        using var dir = new TempDirectory("wal-powerloss-negative");
        var run = await RecordAsync(dir.Path, seed, random, unsafeNoSync: true, watermarks: false);
        Assert.Contains(run.Stderr, l => l.Contains("NV_TEST_UNSAFE_WAL_NO_OSYNC=1", StringComparison.Ordinal));

        var image = Path.Combine(dir.Path, "image");
        var info = run.Model.Materialize(run.Model.End, ImagePolicy.DurableOnly, random.Next(), image);
        var problems = await CheckAsync(image, AckedBy(run.Acks, run.Model.End));
        var context = $"seed {seed} (NV_TEST_SEED={seed}): {info}; {run.Acks.Count} acknowledged";
        // Either the records are gone, or recovery finds acknowledged bytes missing below the durable point and refuses to
        // open (it never cuts acknowledged records): both are the loss the harness must report.
        Assert.True(problems.Exists(p => p.Contains("acknowledged", StringComparison.Ordinal)
                && (p.Contains("missing", StringComparison.Ordinal) || p.Contains("does not open", StringComparison.Ordinal))),
            $"{context}: the harness did not report lost acknowledged writes although the WAL ran without O_SYNC:\n{string.Join('\n', problems)}");
        TestContext.Current.TestOutputHelper?.WriteLine($"{context}; reported as expected: {problems[0]} (+{problems.Count - 1} more)");
    }

    private sealed record Recorded(FsModel Model, IReadOnlyList<TraceAck> Acks, IReadOnlyList<string> Stderr);

    // A clean run first (the image starts from a log that already holds records and commit metadata), a copy of it, then
    // the recorded run on the same directory, SIGKILLed after a random number of acknowledgements.
    private static async Task<Recorded> RecordAsync(string root, int seed, Random random, bool unsafeNoSync, bool watermarks)
    {
        var ct = TestContext.Current.CancellationToken;
        var walDir = Path.Combine(root, "wal");
        var options = Geometry(walDir);
        using (var first = ChildProcess.StartDotnet(WalChildProcess.ChildDll, Args(options, "pre", 8, "--max-records", "300")))
        {
            await first.WaitForExitAsync(Timeout, ct);
            Assert.True(first.ExitCode == 0, $"seed {seed}: the first run failed\n{first.Describe()}");
        }

        var snapshot = Path.Combine(root, "snapshot");
        CopyDirectory(walDir, snapshot);
        var trace = Path.Combine(root, "trace.txt");
        var env = unsafeNoSync ? new Dictionary<string, string> { ["NV_TEST_UNSAFE_WAL_NO_OSYNC"] = "1" } : null;
        // Watermarks persisted and the log truncated every 97 acknowledgements: tiny segments rotate and are removed.
        var extra = watermarks ? new[] { "--watermarks", "97", "--truncate" } : [];
        var target = random.Next(400, Full ? 6000 : 2500);
        using var child = ChildProcess.StartDotnet(WalChildProcess.ChildDll, Args(options, "rec", new[] { 4, 16, 32 }[random.Next(3)], extra), env, Strace.Recorder(trace));
        var reached = await child.WaitUntilAsync(c => c.Stdout.Count(l => l.StartsWith("ACK ", StringComparison.Ordinal)) >= target, Timeout, ct);
        child.Kill();
        Assert.True(reached, $"seed {seed}: the recorded run did not reach {target} acknowledgements\n{child.Describe()}");
        Assert.DoesNotContain(child.Stdout, l => l.StartsWith("FAULT", StringComparison.Ordinal) || l.StartsWith("ERROR", StringComparison.Ordinal));

        var model = FsModel.Build(snapshot, walDir, trace, AckSource.StdoutLines);
        model.FasterLogPageSize = FsModel.WalSegments(1 << Geometry(walDir).PageSizeBits);
        var drift = model.CompareWith(walDir);
        Assert.True(drift.Count == 0, $"seed {seed}: the trace does not explain the directory the run left (the model missed a call):\n{string.Join('\n', drift.Take(20))}");
        var acks = model.Acks.Where(a => a.Text.StartsWith("ACK ", StringComparison.Ordinal)).ToList();
        Assert.True(acks.Count > 0, $"seed {seed}: nothing was acknowledged before the kill; the run proves nothing");
        return new Recorded(model, acks, child.Stderr);
    }

    private static bool Full => PowerLossSettings.Full;

    private static WalOptions Geometry(string directory) => new()
    {
        Directory = directory,
        SegmentSizeBits = 16,
        PageSizeBits = 12,
        MemorySizeBits = 15,
        MaxRecordBytes = (1 << 12) - 64,
    };

    private static string[] Args(WalOptions options, string run, int writers, params string[] extra) =>
        WalSmokeSettings.ChildArgs(options, run, writers, extra);

    private static Dictionary<long, string> AckedBy(IReadOnlyList<TraceAck> acks, int cut)
    {
        var acked = new Dictionary<long, string>();
        foreach (var ack in acks.Where(a => a.Position <= cut))
        {
            var parts = ack.Text.Split(' ');
            acked[long.Parse(parts[1], CultureInfo.InvariantCulture)] = parts[2];
        }

        return acked;
    }

    // Opens the image's log the way the WAL always opens (recovery, tolerate a damaged tail) and checks it. Records below
    // the first LSN held were truncated after the child moved both watermarks past them: acknowledged and then released.
    private static async Task<List<string>> CheckAsync(string image, Dictionary<long, string> acked)
    {
        var problems = new List<string>();
        var records = new List<WalRecord>();
        long first;
        try
        {
            await using var wal = WriteAheadLog.Open(Geometry(image));
            first = Math.Max(1, wal.GetStatistics().FirstLsn.Value);
            await foreach (var record in wal.ReadAsync(new Lsn(first), TestContext.Current.CancellationToken))
            {
                records.Add(record);
            }
        }
        catch (WalCorruptionException ex) when (acked.Count == 0 || acked.Keys.Max() <= ex.LastGoodLsn.Value)
        {
            problems.Add($"REFUSED (nothing acknowledged lost: last good LSN {ex.LastGoodLsn}, last acknowledged {(acked.Count == 0 ? 0 : acked.Keys.Max())}): {ex.Message}");
            return problems;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            problems.Add($"the log does not open: {ex.GetType().Name}: {ex.Message}");
            return problems;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (r.Lsn.Value != first + i)
            {
                problems.Add($"record #{i} has LSN {r.Lsn}, expected {first + i} (LSNs must be dense)");
                break;
            }

            if (!seen.Add(r.RequestId))
            {
                problems.Add($"request {r.RequestId} appears twice (again at LSN {r.Lsn})");
            }

            if (r.Payload.GetRawText() != WalChildRecords.PayloadJson(r.RequestId))
            {
                problems.Add($"LSN {r.Lsn} ({r.RequestId}) holds a damaged payload");
            }
        }

        var last = first + records.Count - 1;
        foreach (var (lsn, rid) in acked.Where(a => a.Key >= first).OrderBy(a => a.Key))
        {
            if (lsn > last)
            {
                problems.Add($"acknowledged LSN {lsn} ({rid}) is missing: the log ends at LSN {last}");
            }
            else if (records[(int)(lsn - first)].RequestId != rid)
            {
                problems.Add($"acknowledged LSN {lsn} holds {records[(int)(lsn - first)].RequestId}, not {rid}");
            }
        }

        return problems;
    }

    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var sub in Directory.EnumerateDirectories(from))
        {
            CopyDirectory(sub, Path.Combine(to, Path.GetFileName(sub)));
        }
    }
}
