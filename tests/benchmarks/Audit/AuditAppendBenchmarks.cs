using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Nv.Audit;
using Nv.Benchmarks.Support;
using Nv.Wal;

namespace Nv.Benchmarks.Audit;

/// <summary>SQLite audit append, batches of 64 durable entries (<c>synchronous=FULL</c>), with checkpoint signing off (the
/// baseline) and with a signed checkpoint after every batch (the worst case); the Ratio column is signing on / off.</summary>
/// <remarks>The Merkle tree is always on: every entry's leaf hash is stored in the same transaction. The default
/// (a checkpoint every 10,000 entries) costs about 1/156 of the "every batch" overhead.</remarks>
[MemoryDiagnoser]
public class AuditAppendBenchmarks
{
    private const int Batch = 64;
    private static readonly JsonElement Before = JsonSerializer.Deserialize<JsonElement>("""{"status":"new","n":1}""");
    private static readonly JsonElement After = JsonSerializer.Deserialize<JsonElement>("""{"status":"paid","n":2}""");

    private BenchDirectory _directory = null!;
    private IAuditSink _unsigned = null!;
    private IAuditSink _signed = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = new BenchDirectory("audit-append");
        _unsigned = Open("unsigned.db", 0);
        _signed = Open("signed.db", Batch);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _unsigned.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _signed.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _directory.Dispose();
    }

    /// <summary>One durable batch of 64 new entries, no checkpoint signing (per-entry cost).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public Task<int> SigningOff() => _unsigned.AppendAsync(NewBatch());

    /// <summary>One durable batch of 64 new entries, then a signed checkpoint (per-entry cost).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public Task<int> SigningEveryBatch() => _signed.AppendAsync(NewBatch());

    private IAuditSink Open(string file, int checkpointEvery)
    {
        var sink = AuditSinks.OpenSqlite(new AuditOptions
        {
            DataDirectory = _directory.Path, SqliteFileName = file, CheckpointEveryEntries = checkpointEvery, CheckpointInterval = TimeSpan.Zero,
        });
        sink.InitializeAsync().GetAwaiter().GetResult();
        return sink;
    }

    private AuditEntry[] NewBatch()
    {
        var entries = new AuditEntry[Batch];
        for (var i = 0; i < Batch; i++)
        {
            var n = ++_next;
            entries[i] = new AuditEntry
            {
                Id = Guid.CreateVersion7(),
                Timestamp = DateTimeOffset.UtcNow,
                Service = "orders",
                Category = AuditCategory.EntityMutation,
                Operation = "update",
                UserId = "alice",
                DtoType = "Order",
                EntityId = "o-" + n,
                Before = Before,
                After = After,
                Changes = [new FieldChange("/n", Before.GetProperty("n"), After.GetProperty("n"))],
                RequestId = "req-" + n,
                Lsn = new Lsn(n),
                WalRecordHash = "5f1c0e3c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c",
            };
        }

        return entries;
    }
}
