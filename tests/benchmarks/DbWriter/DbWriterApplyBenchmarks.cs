using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Benchmarks.DbWriter;

/// <summary>Applying batches of fresh creates to the SQLite writer (synchronous=FULL: every batch is one durable commit).</summary>
[MemoryDiagnoser]
public class DbWriterApplyBenchmarks
{
    private readonly JsonElement _payload = JsonDocument.Parse(
        """{"customer":"c-000123","total":1234.5,"currency":"EUR","lines":[{"sku":"A-1","qty":2}],"note":"benchmark"}""").RootElement.Clone();

    private string _directory = "";
    private IDbWriter? _writer;
    private long _lsn;
    private WalRecord[] _batch = [];

    [Params(1, 64)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "nv-bench-" + Guid.NewGuid().ToString("N"));
        _writer = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory });
        _batch = new WalRecord[BatchSize];
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public async Task<int> ApplyBatch()
    {
        for (var i = 0; i < _batch.Length; i++)
        {
            var lsn = ++_lsn;
            var id = "o" + lsn;
            _batch[i] = new WalRecord
            {
                Id = Guid.CreateVersion7(),
                Lsn = new Lsn(lsn),
                Service = "bench",
                Version = 1,
                Timestamp = DateTimeOffset.UnixEpoch,
                Operation = WalOperation.Create,
                DtoType = "Order",
                EntityId = id,
                Payload = _payload,
                ReplayKey = "bench:bench:1:Order:" + id,
                RequestId = id,
            };
        }

        var results = await _writer!.ApplyAsync(_batch);
        return results.Count;
    }
}
