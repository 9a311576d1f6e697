using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Benchmarks.Support;
using Nv.Wal;

namespace Nv.Benchmarks.Pipeline;

/// <summary>What the audit store's secondary indexes cost each append: the same entries appended to stores that differ only
/// in their index set, the variants interleaved round by round in one process (so load changes on a shared machine hit
/// every variant alike), reporting process CPU per entry.</summary>
/// <remarks>Run: <c>./build.sh bench audit-indexes [--rounds 6] [--batches 40] [--batch 256] [--payload-bytes 1000]</c>.
/// Variants: <c>v3</c> (request_id, (entity_id, dto_type), user_id, (timestamp, id)), <c>v4</c> (request_id, (entity_id,
/// dto_type, timestamp, id), (user_id, timestamp, id), (category, timestamp, id), (timestamp, id)), and <c>v4-no-category</c>.
/// Entity ids are random (as UUID-keyed entities are), users one of 50, every entry an update with a before image.</remarks>
internal static class AuditIndexScenario
{
    private const string DropV4 =
        "DROP INDEX ix_audit_entries_entity_time; DROP INDEX ix_audit_entries_user_time; DROP INDEX ix_audit_entries_category_time;";

    private static readonly (string Name, string Ddl)[] Variants =
    [
        ("v3", DropV4 + """
            CREATE INDEX ix_audit_entries_entity ON audit_entries (entity_id, dto_type);
            CREATE INDEX ix_audit_entries_user_id ON audit_entries (user_id);
            """),
        ("v3+category", DropV4 + """
            CREATE INDEX ix_audit_entries_entity ON audit_entries (entity_id, dto_type);
            CREATE INDEX ix_audit_entries_user_id ON audit_entries (user_id);
            CREATE INDEX ix_audit_entries_category_time ON audit_entries (category, timestamp);
            """),
        ("v4-timestamp-only", DropV4 + """
            CREATE INDEX ix_audit_entries_entity_time ON audit_entries (entity_id, dto_type, timestamp);
            CREATE INDEX ix_audit_entries_user_time ON audit_entries (user_id, timestamp);
            CREATE INDEX ix_audit_entries_category_time ON audit_entries (category, timestamp);
            """),
        ("v4", ""),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = Args.Int(args, "--rounds", 6);
        var batches = Args.Int(args, "--batches", 40);
        var batch = Args.Int(args, "--batch", 256);
        var payload = BenchPayload.Create(BenchPayload.Kind(args), Args.Int(args, "--payload-bytes", 1000));
        var previous = BenchPayload.Create("realistic", Args.Int(args, "--payload-bytes", 1000), seed: 2);
        var wanted = args.Contains("--variants") ? args[Array.IndexOf(args, "--variants") + 1].Split(',') : Variants.Select(v => v.Name).ToArray();
        var variants = Variants.Where(v => wanted.Contains(v.Name)).ToArray();
        var cpu = variants.ToDictionary(v => v.Name, _ => new List<double>());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"audit-indexes: {rounds} rounds × {batches} batches of {batch}; process CPU µs per entry"));
        for (var round = 1; round <= rounds; round++)
        {
            var line = new List<string>();
            foreach (var (name, ddl) in round % 2 == 0 ? variants.Reverse() : variants)
            {
                var micros = await MeasureAsync(ddl, batches, batch, payload, previous, round);
                cpu[name].Add(micros);
                line.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {micros:F1}"));
            }

            Console.WriteLine($"round {round}: " + string.Join(", ", line));
        }

        foreach (var (name, values) in cpu)
        {
            var median = values.Order().ElementAt(values.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-16} median {median:F1} µs/entry ({median / cpu[variants[0].Name].Order().ElementAt(values.Count / 2):F2}× {variants[0].Name})"));
        }

        return 0;
    }

    private static async Task<double> MeasureAsync(string ddl, int batches, int batch, JsonElement payload, JsonElement previous, int seed)
    {
        using var dir = new BenchDirectory("audit-indexes");
        var sink = AuditSinks.OpenSqlite(new AuditOptions { DataDirectory = dir.Path });
        try
        {
            await sink.InitializeAsync();
            if (ddl.Length > 0)
            {
                using var raw = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "audit.db")};Pooling=False");
                raw.Open();
                using var command = raw.CreateCommand();
                command.CommandText = ddl;
                command.ExecuteNonQuery();
            }

            var random = new Random(seed);
            var all = new List<List<AuditEntry>>(batches);
            long n = 0;
            for (var b = 0; b < batches; b++)
            {
                var entries = new List<AuditEntry>(batch);
                for (var i = 0; i < batch; i++)
                {
                    n++;
                    var record = new WalRecord
                    {
                        Id = Guid.CreateVersion7(),
                        Lsn = new Lsn(n),
                        Service = "bench",
                        Version = 1,
                        Timestamp = DateTimeOffset.UtcNow,
                        Operation = WalOperation.Update,
                        DtoType = "Entity",
                        EntityId = "e-" + random.NextInt64().ToString("x16", CultureInfo.InvariantCulture),
                        Payload = payload,
                        ReplayKey = "bench:bench:1:Entity:e",
                        RequestId = Guid.NewGuid().ToString("N"),
                        UserId = "user-" + random.Next(50).ToString(CultureInfo.InvariantCulture),
                    };
                    entries.Add(AuditEntryFactory.FromWalRecord(record, previous, payload));
                }

                all.Add(entries);
            }

            var process = Process.GetCurrentProcess();
            process.Refresh();
            var before = process.TotalProcessorTime;
            foreach (var entries in all)
            {
                await sink.AppendAsync(entries);
            }

            process.Refresh();
            return (process.TotalProcessorTime - before).TotalMicroseconds / n;
        }
        finally
        {
            await sink.DisposeAsync();
            SqliteConnection.ClearAllPools();
        }
    }
}
