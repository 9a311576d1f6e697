using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Nv.Benchmarks.Support;
using Nv.Wal;

namespace Nv.Benchmarks.Pipeline;

/// <summary>Boot replay speed: N unresolved records in the WAL (written directly, as if the host crashed after every
/// flush), then the host starts and replays them into SQLite with audit backfill.</summary>
/// <remarks>Run: <c>./build.sh bench replay [--records 1000000] [--entities 100000]</c>. ~200-byte payloads, creates then updates.</remarks>
internal static class ReplayScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var records = Args.Int(args, "--records", 1_000_000);
        var entities = Args.Int(args, "--entities", Math.Max(1, records / 10));
        using var dir = new BenchDirectory("replay");
        var payload = JsonSerializer.SerializeToElement(new { name = "entity", blob = new string('x', 180) });

        var write = Stopwatch.StartNew();
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.Combine(dir.Path, "wal") }))
        {
            var last = Lsn.None;
            for (var i = 0; i < records; i++)
            {
                var entity = i % entities;
                var record = await wal.AppendAsync(new WalRecord
                {
                    Id = Guid.CreateVersion7(),
                    Service = "bench",
                    Version = 1,
                    Timestamp = DateTimeOffset.UtcNow,
                    Operation = i < entities ? WalOperation.Create : WalOperation.Update,
                    DtoType = "Entity",
                    EntityId = "e" + entity.ToString(CultureInfo.InvariantCulture),
                    Payload = payload,
                    ReplayKey = ReplayKey.Create("bench", "bench", 1, "Entity", "e" + entity.ToString(CultureInfo.InvariantCulture)),
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

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay: wrote {records} unresolved records to the WAL in {write.Elapsed.TotalSeconds:F1} s"));
        await using var nv = await NvInstance.StartAsync(dir.Path);
        var s = nv.BootReplay;
        var total = s.Duration.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"replay: {s.Replayed} applied, {s.AlreadyApplied} already applied, {s.Rejected} rejected, {s.AuditBackfilled} audit entries backfilled in {total:F2} s = {s.RecordsRead / total:F0} records/s"));
        return 0;
    }
}
