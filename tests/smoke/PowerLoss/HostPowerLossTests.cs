using System.Globalization;
using Nv.Smoke.Tests.Verify;
using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Wal;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>The real <c>nv serve</c>, recorded under strace while HTTP clients write, SIGKILLed in the middle of their
/// requests, then cut into power-loss images: at the end of the run and at random points, at points in each maintenance
/// window the run went through (segment rotation, WAL truncation, watermark persistence, checkpoint signing, boot), with
/// only what was durable, as a process crash leaves it, and with random subsets of the rest. Nv restarts on each image and
/// the independent oracle and the Python verifier check it.</summary>
/// <remarks>The image starts from a copy of the directory a clean run left, so the recorded run also boots over
/// existing stores. CI cuts a few images (seeded, printed, <c>NV_TEST_SEED</c> replays); <c>NV_POWERLOSS_IMAGES=N</c> or
/// <c>NV_SMOKE_FULL=1</c> (60) cut many more.</remarks>
public sealed class HostPowerLossTests
{
    [Fact]
    public async Task Every_write_acknowledged_over_HTTP_survives_a_power_loss_at_any_point_of_the_run()
    {
        FaultTools.SkipOrFailUnless(FaultTools.Strace);
        FaultTools.SkipOrFailUnless(PythonVerifier.Missing);
        var ct = TestContext.Current.CancellationToken;
        var seed = WalSmokeSettings.Seed();
        var random = new Random(seed);
        var log = TestContext.Current.TestOutputHelper;
        using var dir = new TempDirectory("host-powerloss");
        var scenario = new HostScenario(dir.Path, seed);
        await scenario.CleanRunAsync("pre", 120, ct);
        var before = scenario.Log.Acknowledged();
        var snapshot = Path.Combine(dir.Path, "snapshot");
        WalPowerLossTests.CopyDirectory(scenario.DataDir, snapshot);

        var trace = Path.Combine(dir.Path, "trace.txt");
        var target = random.Next(60, PowerLossSettings.Full ? 1500 : 400);
        using (var server = await NvServer.StartAsync(scenario.DataDir, HostScenario.Env(), Strace.Recorder(trace), ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(90), ct), $"seed {seed}: not ready\n{server.Process.Describe()}");
            var workload = scenario.Workload("rec");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var writing = workload.RunAsync(server.Client, 8, int.MaxValue, stop.Token);
            while (workload.Answered < target && !writing.IsCompleted)
            {
                await Task.Delay(20, ct);
            }

            server.Kill(); // in the middle of the clients' requests
            await stop.CancelAsync();
            await writing;
        }

        var model = FsModel.Build(snapshot, scenario.DataDir, trace, AckSource.SocketRequestIds);
        model.FasterLogPageSize = FsModel.WalSegments(1 << 12); // HostScenario: Nv__Wal__PageSizeBits=12
        var drift = model.CompareWith(scenario.DataDir);
        Assert.True(drift.Count == 0, $"seed {seed}: the trace does not explain the directory the run left:\n{string.Join('\n', drift.Take(20))}");
        var acked = scenario.Log.Acknowledged();
        var recorded = acked.Where(a => !before.ContainsKey(a.Key)).ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var ack in model.Acks)
        {
            position.TryAdd(ack.Text, ack.Position);
        }

        var unseen = recorded.Keys.Where(r => !position.ContainsKey(r)).ToList();
        Assert.True(unseen.Count == 0, $"seed {seed}: {unseen.Count} answers the clients got are not in the trace (e.g. {unseen.FirstOrDefault()})");
        Assert.True(recorded.Count > 0, $"seed {seed}: nothing was acknowledged in the recorded run; it proves nothing");

        var plan = PowerLossSettings.Plan(model, random, PowerLossSettings.Images(ci: 2));
        plan.AddRange(WindowCuts(model, random, PowerLossSettings.Full ? 12 : 1));
        log?.WriteLine($"seed {seed} (rerun with NV_TEST_SEED={seed}): {before.Count} acknowledged before, {recorded.Count} in the recorded run; "
            + $"{model.DataOpCount} writes traced; {plan.Count} images");
        for (var i = 0; i < plan.Count; i++)
        {
            var (cut, policy, imageSeed) = plan[i];
            var image = Path.Combine(dir.Path, "image-" + i.ToString(CultureInfo.InvariantCulture));
            var info = model.Materialize(cut, policy, imageSeed, image);
            var ackedAtCut = before.Concat(recorded.Where(r => position[r.Key] <= cut))
                .ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
            var (problems, summary) = await scenario.RestartAndCheckAsync(image, ackedAtCut, ct, twice: i == 0);
            var context = $"seed {seed} (NV_TEST_SEED={seed}), image {i}: {info}; {ackedAtCut.Count} acknowledged before the cut";
            Assert.True(problems.Count == 0, $"{context}:\n{string.Join('\n', problems.Take(25))}");
            log?.WriteLine($"{context}: {summary}");
            Directory.Delete(image, recursive: true);
        }
    }

    // Cuts inside the windows a run goes through, chosen from the trace: just after a new WAL segment was created (before
    // its directory is synced), after a segment was removed by truncation, after the watermark file was renamed into place,
    // after a signed checkpoint was written into the audit store, and during boot (before the first answer).
    internal static IEnumerable<(int Cut, ImagePolicy Policy, int Seed)> WindowCuts(FsModel model, Random random, int perWindow)
    {
        var windows = new (string Name, Func<TraceEvent, bool> Match)[]
        {
            ("segment rotation", e => e.Kind == "create" && e.Path.StartsWith("wal/log/nv.log.", StringComparison.Ordinal)),
            ("WAL truncation", e => e.Kind == "unlink" && e.Path.StartsWith("wal/log/nv.log.", StringComparison.Ordinal)),
            ("watermark persistence", e => e.Kind == "rename" && e.Path == "wal/watermarks.ckpt"),
            ("checkpoint signing", e => e.Kind == "write" && e.Path.StartsWith("audit.db", StringComparison.Ordinal) && e.Data is { } d
                && d.AsSpan().IndexOf("nv-audit-checkpoint/v1"u8) >= 0),
            ("boot", e => model.Acks.Count > 0 && e.Exit < model.Acks[0].Position && e.Kind is "write" or "fsync" or "rename" or "create"),
        };
        var policies = Enum.GetValues<ImagePolicy>();
        foreach (var (_, match) in windows)
        {
            var events = model.Events.Where(e => e.Exit <= model.End && match(e)).ToList();
            for (var i = 0; i < perWindow && events.Count > 0; i++)
            {
                var e = events[random.Next(events.Count)];
                yield return (e.Exit + random.Next(0, 3), policies[random.Next(policies.Length)], random.Next());
            }
        }
    }
}
