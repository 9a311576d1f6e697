using System.Globalization;
using System.Text.Json;
using Nv.Smoke.Tests.Verify;
using Nv.Wal;

namespace Nv.Smoke.Tests.Support;

/// <summary>One data directory driven over HTTP through the real <c>nv serve</c>, with a configuration that makes every
/// maintenance window happen within seconds: 64 KiB WAL segments of 4 KiB pages (rotation), maintenance every 300 ms (WAL
/// truncation and resolution purge), watermarks persisted every 100 ms, a signed audit checkpoint every 20 entries or
/// second, the audit backfill every 300 ms. The write log keeps what every run sent and got, for the oracle.</summary>
internal sealed class HostScenario
{
    public const string Environment = "smoke";
    public const string Service = "crash";
    public static readonly string[] DtoTypes = ["Item", "Order"];

    public HostScenario(string root, int seed)
    {
        Root = root;
        Seed = seed;
        DataDir = Path.Combine(root, "data");
        Directory.CreateDirectory(DataDir);
    }

    public string Root { get; }

    public int Seed { get; }

    public string DataDir { get; }

    public WriteLog Log { get; } = new();

    public static Dictionary<string, string> Env(IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>
        {
            ["NV_ENV"] = Environment,
            ["NV_SERVICE"] = Service,
            ["Nv__Wal__SegmentSizeBits"] = "16",
            ["Nv__Wal__PageSizeBits"] = "12",
            ["Nv__Wal__MemorySizeBits"] = "15",
            ["Nv__Wal__MaxRecordBytes"] = "4000",
            ["Nv__Wal__WatermarkPersistInterval"] = "00:00:00.100",
            ["Nv__Pipeline__MaintenanceInterval"] = "00:00:00.300",
            ["Nv__Pipeline__AuditBackfillInterval"] = "00:00:00.300",
            ["Nv__Pipeline__MaxPayloadBytes"] = "1500", // with its record overhead it must fit Nv:Wal:MaxRecordBytes (options validation)
            ["Nv__Pipeline__MaxBatchBytes"] = "4000", // a batch is one record too
            ["Nv__Audit__CheckpointEveryEntries"] = "20",
            ["Nv__Audit__CheckpointInterval"] = "00:00:01",
            ["Serilog__MinimumLevel__Default"] = "Information",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        return env;
    }

    public static WalOptions WalOptions(string dataDir) => new()
    {
        Directory = Path.Combine(dataDir, "wal"),
        SegmentSizeBits = 16,
        PageSizeBits = 12,
        MemorySizeBits = 15,
        MaxRecordBytes = 4000,
    };

    public HttpWorkload Workload(string runId) => new(Log, runId, HashCode.Combine(Seed, runId));

    /// <summary>A clean run: serve, write, stop with SIGTERM.</summary>
    public async Task CleanRunAsync(string runId, int writes, CancellationToken cancellationToken)
    {
        using var server = await NvServer.StartAsync(DataDir, Env(), null, cancellationToken);
        Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken), $"[seed {Seed}] not ready\n{server.Process.Describe()}");
        await Workload(runId).RunAsync(server.Client, 4, writes, cancellationToken);
        await server.StopAsync(cancellationToken);
        Assert.True(server.Process.ExitCode == 0, $"[seed {Seed}] the clean run did not stop cleanly\n{server.Process.Describe()}");
    }

    /// <summary>Restarts Nv on <paramref name="dataDir"/> (<c>nv replay</c>: recovery, boot replay, audit backfill, exit)
    /// and checks it: the independent oracle against <paramref name="acknowledged"/>, the Python verifier on the trail.</summary>
    /// <returns>Every problem found; the replay summary.</returns>
    public async Task<(List<string> Problems, string Summary)> RestartAndCheckAsync(string dataDir, IReadOnlyDictionary<string, WriteReply> acknowledged,
        CancellationToken cancellationToken, bool twice = false)
    {
        var replay = await NvProcess.RunAsync(dataDir, Env(), TimeSpan.FromMinutes(3), "replay", "--json");
        if (replay.ExitCode != 0)
        {
            return ([$"the restart failed: {replay.Describe()}"], "");
        }

        var summary = replay.Stdout.LastOrDefault(l => l.StartsWith('{')) ?? "";
        if (replay.Stderr.FirstOrDefault(l => l.Contains("Cut the WAL", StringComparison.Ordinal) || l.Contains("Rebuilt the WAL", StringComparison.Ordinal)) is { } cut)
        {
            summary += " [recovery: " + cut.Trim() + "]";
        }
        var problems = new List<string>();
        if (twice)
        {
            var again = await NvProcess.RunAsync(dataDir, Env(), TimeSpan.FromMinutes(3), "replay", "--json");
            using var second = JsonDocument.Parse(again.Stdout.Last(l => l.StartsWith('{')));
            if (again.ExitCode != 0 || second.RootElement.GetProperty("replayed").GetInt64() != 0
                || second.RootElement.GetProperty("auditBackfilled").GetInt64() != 0)
            {
                problems.Add($"a second restart was not a no-op: {again.Describe()}");
            }
        }

        long first;
        long last;
        await using (var wal = WriteAheadLog.Open(WalOptions(dataDir)))
        {
            var stats = wal.GetStatistics();
            (first, last) = (stats.FirstLsn.Value, stats.LastLsn.Value);
        }

        var store = StoreSnapshot.Read(dataDir, DtoTypes);
        problems.AddRange(new IndependentOracle(Environment, Service).Check(store, Log, acknowledged, first, last));
        var (verdict, note) = PythonVerifier.Verify(dataDir);
        if (!verdict.StartsWith("OK ", StringComparison.Ordinal))
        {
            problems.Add($"docs/audit_verify_reference.py: {verdict}");
        }

        return (problems, string.Create(CultureInfo.InvariantCulture,
            $"{summary}; WAL {first}..{last}; {store.Audit.Count} audit entries; verifier: {verdict}{(note is null ? "" : " (" + note + ")")}"));
    }
}
