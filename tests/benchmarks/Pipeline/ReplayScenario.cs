using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Benchmarks.Support;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Benchmarks.Pipeline;

/// <summary>Boot replay speed: N unresolved records in the WAL (written directly, as if the host crashed after every
/// flush), then the host starts and replays them into SQLite with audit backfill.</summary>
/// <remarks>Run: <c>./build.sh bench replay [--records 1000000] [--entities 100000] [--bounds]</c>. ~200-byte payloads,
/// creates then updates. <c>--bounds</c> replays copies of the same WAL three times: the full replay, the replay with
/// the audit append made free, and with the database apply made free as well (WAL read + decode + the replay's
/// plumbing), each with the CPU time it spent per record. The free stages are benchmark-only stand-ins
/// (<see cref="DiscardingAuditSink"/>, <see cref="DiscardingDbWriter"/>). <c>--encryption</c> compares, in one run, the
/// replay of the same workload written plain and with encryption at rest on: each is written through the pipeline
/// (ack=durable; creates, then updates), then the stores are made to forget it (entity rows, resolutions, request
/// outcomes and the audit store removed; the data keys kept) so that boot replay applies and audits every record again,
/// opening each sealed payload with its subject's key.</remarks>
internal static class ReplayScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var records = Args.Int(args, "--records", 1_000_000);
        var entities = Args.Int(args, "--entities", Math.Max(1, records / 10));
        if (args.Contains("--encryption"))
        {
            return await EncryptedAsync(records, entities);
        }

        using var dir = new BenchDirectory("replay");
        var source = Path.Combine(dir.Path, "source");
        var write = Stopwatch.StartNew();
        await WriteUnresolvedAsync(Path.Combine(source, "wal"), records, entities);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay: wrote {records} unresolved records to the WAL in {write.Elapsed.TotalSeconds:F1} s"));
        if (!args.Contains("--bounds"))
        {
            await ReplayAsync("full replay", source, services: null);
            return 0;
        }

        (string Name, Action<IServiceCollection>? Services)[] variants =
        [
            ("full replay", null),
            ("audit append free", static s => s.AddSingleton<IAuditSink, DiscardingAuditSink>()),
            ("apply + audit free", static s => s.AddSingleton<IAuditSink, DiscardingAuditSink>().AddSingleton<IDbWriter, DiscardingDbWriter>()),
        ];
        for (var v = 0; v < variants.Length; v++)
        {
            var run = Path.Combine(dir.Path, "run" + v.ToString(CultureInfo.InvariantCulture));
            CopyDirectory(Path.Combine(source, "wal"), Path.Combine(run, "wal"));
            await ReplayAsync(variants[v].Name, run, variants[v].Services);
            Directory.Delete(run, recursive: true);
        }

        return 0;
    }

    private static async Task<double> ReplayAsync(string name, string dataDir, Action<IServiceCollection>? services, string? masterKeyFile = null)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await using var nv = await NvInstance.StartAsync(dataDir, services: services, configure: Encryption(masterKeyFile));
        var spent = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var s = nv.BootReplay;
        var total = s.Duration.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"replay ({name}): {s.Replayed} applied, {s.AlreadyApplied} already applied, {s.Rejected} rejected, {s.AuditBackfilled} audit entries backfilled in {total:F2} s = {s.RecordsRead / total:F0} records/s, {spent.TotalMicroseconds / Math.Max(1, s.RecordsRead):F1} us CPU per record (start-up included)"));
        return s.RecordsRead / total;
    }

    private static Action<IConfigurationBuilder>? Encryption(string? masterKeyFile) => masterKeyFile is null
        ? null
        : c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["Nv:Encryption:MasterKeyFile"] = masterKeyFile });

    private static async Task<int> EncryptedAsync(int records, int entities)
    {
        using var dir = new BenchDirectory("replay-encryption");
        using var keys = new BenchDirectory("replay-keys");
        var master = Path.Combine(keys.Path, "master.key");
        Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        var rates = new List<double>();
        foreach (var (name, key) in new[] { ("plain", (string?)null), ("encrypted", master) })
        {
            var data = Path.Combine(dir.Path, name);
            var write = Stopwatch.StartNew();
            await WriteThroughPipelineAsync(data, records, entities, key);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay: wrote {records} records ({name}) through the pipeline in {write.Elapsed.TotalSeconds:F1} s"));
            ForgetApplied(data);
            rates.Add(await ReplayAsync("full replay, " + name, data, services: null, key));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  replay encrypted / plain {rates[1] / rates[0],6:F2}x  (target >= 0.85x: {(rates[1] / rates[0] >= 0.85 ? "met" : "not met")})"));
        return 0;
    }

    private static async Task WriteThroughPipelineAsync(string dataDir, int records, int entities, string? masterKeyFile)
    {
        var payload = JsonSerializer.SerializeToElement(new { name = "entity", blob = new string('x', 180) });
        await using var nv = await NvInstance.StartAsync(dataDir, configure: Encryption(masterKeyFile));
        // Creates first, then updates, so both runs write exactly the same records.
        foreach (var (from, to) in new[] { (0, Math.Min(entities, records)), (Math.Min(entities, records), records) })
        {
            var next = from - 1;
            await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < to)
                {
                    var entity = "e" + (i % entities).ToString(CultureInfo.InvariantCulture);
                    await nv.Pipeline.WriteAsync(new WriteRequest
                    {
                        RequestId = "r" + i.ToString(CultureInfo.InvariantCulture),
                        Operation = i < entities ? WalOperation.Create : WalOperation.Update,
                        DtoType = "Entity",
                        EntityId = entity,
                        Payload = payload,
                        UserId = "bench",
                        Ack = AckLevel.Durable,
                    });
                }
            })));
        }
    }

    // The stores forget every record (the WAL keeps them, and the key store its keys): boot replay redoes all of them.
    private static void ForgetApplied(string dataDir)
    {
        using (var db = new SqliteConnection($"Data Source={Path.Combine(dataDir, "nv.db")};Pooling=False"))
        {
            db.Open();
            using var command = db.CreateCommand();
            command.CommandText = "DELETE FROM \"Entity\"; DELETE FROM _nv_resolutions; DELETE FROM _nv_batch_resolutions; DELETE FROM _nv_requests; " +
                "UPDATE _nv_meta SET value = 0 WHERE key IN ('resolved_through', 'durable_through');";
            command.ExecuteNonQuery();
        }

        foreach (var file in Directory.GetFiles(dataDir, "audit.db*").Append(Path.Combine(dataDir, "wal", "watermarks.ckpt")).Where(File.Exists))
        {
            File.Delete(file);
        }
    }

    private static async Task WriteUnresolvedAsync(string walDirectory, int records, int entities)
    {
        var payload = JsonSerializer.SerializeToElement(new { name = "entity", blob = new string('x', 180) });
        await using var wal = WriteAheadLog.Open(new WalOptions { Directory = walDirectory });
        var last = Lsn.None;
        for (var i = 0; i < records; i++)
        {
            var entity = "e" + (i % entities).ToString(CultureInfo.InvariantCulture);
            var record = await wal.AppendAsync(new WalRecord
            {
                Id = Guid.CreateVersion7(),
                Service = "bench",
                Version = 1,
                Timestamp = DateTimeOffset.UtcNow,
                Operation = i < entities ? WalOperation.Create : WalOperation.Update,
                DtoType = "Entity",
                EntityId = entity,
                Payload = payload,
                ReplayKey = ReplayKey.Create("bench", "bench", 1, "Entity", entity),
                RequestId = "r" + i.ToString(CultureInfo.InvariantCulture),
            });
            last = record.Lsn;
            if (i % 4096 == 4095)
            {
                await wal.FlushAsync(last);
            }
        }

        await wal.FlushAsync(last);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var sub in Directory.GetDirectories(from))
        {
            CopyDirectory(sub, Path.Combine(to, Path.GetFileName(sub)));
        }
    }
}
