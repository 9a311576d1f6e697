using System.Globalization;
using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Audit;

/// <summary><c>nv audit archive</c> and <c>nv audit prune</c> SIGKILLed at each step (the archive's temp file written and
/// synced; renamed into place but not recorded; a prune between two chunks), then run again: they converge to exactly
/// what an uninterrupted run leaves (one recorded, verifying archive per range and no stray file; every archived entry
/// pruned once, one audit-pruned entry), and <c>nv audit verify</c> passes on the trail with its archived and pruned
/// ranges, as does <c>nv audit verify --archive</c> on the files.</summary>
public sealed class AuditArchiveCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private static Task<NvRun> Nv(string dataDir, IReadOnlyDictionary<string, string>? env, params string[] args) =>
        NvProcess.RunAsync(dataDir, env, Timeout, args);

    private static async Task<string> LoadAsync(string dataDir)
    {
        var load = await Nv(dataDir, null, "load", "--count", "90", "--entities", "12", "--writers", "4", "--quiet", "--run-id", "arch");
        Assert.True(load.ExitCode == 0, load.Describe());
        await Task.Delay(20);
        return DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("archive-after-write", ".nvarchive.tmp")]
    [InlineData("archive-after-rename", ".nvarchive")]
    public async Task An_archive_killed_mid_way_converges_on_the_next_run(string point, string leftBehind)
    {
        using var dir = new TempDirectory("archive-crash");
        var before = await LoadAsync(dir.Path);
        var archives = Path.Combine(dir.Path, "archives");

        var killed = await Nv(dir.Path, new Dictionary<string, string> { ["NV_CRASH_AT"] = point }, "audit", "archive", "--before", before, "--out", archives);
        Assert.True(killed.ExitCode == NvProcess.KilledExitCode, $"[{point}] expected SIGKILL: {killed.Describe()}");
        Assert.Single(Directory.GetFiles(archives), f => f.EndsWith(leftBehind, StringComparison.Ordinal));
        Assert.Equal(0, Scalar(dir.Path, "SELECT count(*) FROM audit_archives"));

        var again = await Nv(dir.Path, null, "audit", "archive", "--before", before, "--out", archives);
        Assert.True(again.ExitCode == 0, again.Describe());
        var file = Assert.Single(Directory.GetFiles(archives));
        Assert.EndsWith(".nvarchive", file, StringComparison.Ordinal);
        Assert.Equal(1, Scalar(dir.Path, "SELECT count(*) FROM audit_archives"));
        Assert.Equal(1, Scalar(dir.Path, "SELECT count(*) FROM audit_entries WHERE operation = 'audit-archived'"));

        var offline = await Nv(dir.Path, null, "audit", "verify", "--archive", file, "--public-key", Path.Combine(dir.Path, "audit-signing-key.pub.pem"));
        Assert.True(offline.ExitCode == 0, offline.Describe());
        var store = await Nv(dir.Path, null, "audit", "verify");
        Assert.True(store.ExitCode == 0, store.Describe());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_prune_killed_between_chunks_resumes_and_the_trail_still_verifies(int chunk)
    {
        using var dir = new TempDirectory("prune-crash");
        var before = await LoadAsync(dir.Path);
        var archives = Path.Combine(dir.Path, "archives");
        var archive = await Nv(dir.Path, null, "audit", "archive", "--before", before, "--out", archives);
        Assert.True(archive.ExitCode == 0, archive.Describe());
        var archived = Scalar(dir.Path, "SELECT last_sequence FROM audit_archives");
        // The kill needs the prune to reach its chunk. (Was "> 20", which a sweep under load missed once with 18 entries from 60
        // writes: the load's writers race, and a rejected write has no entry; 90 writes leave ~40–55.)
        Assert.True(archived > 7 * (chunk - 1), $"{archived} entries archived: too few for chunk {chunk}");
        var chunks = new Dictionary<string, string> { ["Nv__Audit__PruneBatchSize"] = "7" };

        var killed = await Nv(dir.Path, new Dictionary<string, string>(chunks) { ["NV_CRASH_AT"] = $"prune-after-chunk:{chunk}" },
            "audit", "prune", "--before", before);
        Assert.True(killed.ExitCode == NvProcess.KilledExitCode, $"[chunk {chunk}] expected SIGKILL: {killed.Describe()}");
        // How many entries the load leaves to archive varies (its writers race; a rejected write has no entry): when the
        // killed chunk was the range's last one, the prune had finished and written its audit-pruned entry.
        var last = 7 * chunk >= archived;
        Assert.Equal(Math.Min(7 * chunk, archived), Scalar(dir.Path, "SELECT through FROM audit_pruned"));
        Assert.Equal(last ? 1 : 0, Scalar(dir.Path, "SELECT count(*) FROM audit_entries WHERE operation = 'audit-pruned'"));
        var half = await Nv(dir.Path, null, "audit", "verify");
        Assert.True(half.ExitCode == 0, "a half-pruned trail verifies: " + half.Describe());

        var resumed = await Nv(dir.Path, chunks, "audit", "prune", "--before", before);
        Assert.True(resumed.ExitCode == 0, resumed.Describe());
        Assert.Equal(archived, Scalar(dir.Path, "SELECT through FROM audit_pruned"));
        Assert.Equal(0, Scalar(dir.Path, $"SELECT count(*) FROM audit_entries WHERE sequence <= {archived}"));
        Assert.Equal(1, Scalar(dir.Path, "SELECT count(*) FROM audit_entries WHERE operation = 'audit-pruned'"));
        Assert.Equal(Scalar(dir.Path, "SELECT count(*) FROM audit_merkle_leaves"), Scalar(dir.Path, "SELECT max(sequence) FROM audit_entries"));

        var store = await Nv(dir.Path, null, "audit", "verify");
        Assert.True(store.ExitCode == 0, store.Describe());
        var rerun = await Nv(dir.Path, chunks, "audit", "prune", "--before", before);
        Assert.True(rerun.ExitCode == 0 && rerun.Stderr.Any(l => l.Contains("0 range(s) pruned", StringComparison.Ordinal)), rerun.Describe());
        // A start after the prune goes on linking to the kept hash.
        var load = await Nv(dir.Path, null, "load", "--count", "10", "--entities", "12", "--writers", "2", "--quiet", "--run-id", "after");
        Assert.True(load.ExitCode == 0, load.Describe());
        Assert.True((await Nv(dir.Path, null, "audit", "verify")).ExitCode == 0);
    }

    private static long Scalar(string dataDir, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "audit.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
