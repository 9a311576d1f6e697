using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Nv.Benchmarks.Support;
using Nv.Wal;
using Nv.Wal.Framing;
using Nv.Wal.Protection;

namespace Nv.Benchmarks.Wal;

/// <summary>WAL payload format 2 (issue 16): bytes per record and append throughput of the same JSON payloads stored plain,
/// LZ4-compressed, compressed and sealed (AES-256-GCM under a per-subject data key) and sealed alone, in one run, for
/// 1 KiB and 16 KiB payloads.</summary>
/// <remarks>Run: <c>./build.sh bench payload-format [--sizes 1024,16384] [--records 20000] [--rounds 3] [--payload
/// realistic|repetitive]</c>. Bytes per record is the exact frame the codec writes (header and body), averaged over records
/// with different seeds; throughput is the real FasterLog: one writer appending the records and flushing every 256 (so
/// encode, compress and seal costs show, fsync is amortised). Every variant runs in each round, round-robin; the median is
/// printed with the ratio to the plain row.</remarks>
internal static class PayloadFormatScenario
{
    private sealed record Variant(string Name, bool Compress, bool Seal);

    private static readonly Variant[] Variants =
    [
        new("plain (format 1 equivalent)", Compress: false, Seal: false),
        new("lz4", Compress: true, Seal: false),
        new("lz4 + aes-256-gcm", Compress: true, Seal: true),
        new("aes-256-gcm, no compression", Compress: false, Seal: true),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = Args.Ints(args, "--sizes", [1024, 16384]);
        var records = Args.Int(args, "--records", 20_000);
        var rounds = Args.Int(args, "--rounds", 3);
        var kind = BenchPayload.Kind(args.Contains("--payload") ? args : [.. args, "--payload", "realistic"]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"payload-format: {kind} JSON, {records} records per cell, median of {rounds} rounds, {Environment.ProcessorCount} cores"));
        Console.WriteLine($"{"payload",8} | {"variant",-28} | {"bytes/record",12} {"vs plain",8} | {"records/s",10} {"MB/s (json)",11} {"vs plain",8}");
        var keys = new Keys();
        foreach (var size in sizes)
        {
            var payloads = Enumerable.Range(1, 16).Select(seed => BenchPayload.Create(kind, size, seed)).ToArray();
            var jsonBytes = payloads.Average(p => p.GetRawText().Length);
            var rates = Variants.Select(_ => new List<double>()).ToArray();
            for (var r = 0; r < rounds; r++)
            {
                for (var v = 0; v < Variants.Length; v++)
                {
                    rates[v].Add(await MeasureAsync(Variants[v], payloads, records, keys));
                }
            }

            double? plainBytes = null;
            double? plainRate = null;
            for (var v = 0; v < Variants.Length; v++)
            {
                var bytes = FrameBytes(Variants[v], payloads, keys);
                var rate = rates[v].Order().ElementAt(rates[v].Count / 2);
                plainBytes ??= bytes;
                plainRate ??= rate;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{size,6} B | {Variants[v].Name,-28} | {bytes,12:F0} {bytes / plainBytes,7:F2}x | {rate,10:F0} {rate * jsonBytes / 1e6,11:F1} {rate / plainRate,7:F2}x"));
            }
        }

        return 0;
    }

    // The exact frame length the codec writes for each payload, averaged.
    private static double FrameBytes(Variant variant, JsonElement[] payloads, Keys keys)
    {
        var protection = new WalPayloadProtection(keys, variant.Compress);
        return payloads.Select((p, i) => WalRecordCodec.EncodeFrame(Record(0, i, p, variant.Seal ? keys.For(i) : null), 1 << 24, protection, out _, out _).Length)
            .Average();
    }

    private static async Task<double> MeasureAsync(Variant variant, JsonElement[] payloads, int records, Keys keys)
    {
        using var dir = new BenchDirectory("payload-format");
        await using var wal = WriteAheadLog.Open(
            new WalOptions { Directory = dir.Path, CompressPayloads = variant.Compress, MaxRecordBytes = 1 << 20 }, null, keys);
        var clock = Stopwatch.StartNew();
        var last = Lsn.None;
        for (var i = 0; i < records; i++)
        {
            last = (await wal.AppendAsync(Record(0, i, payloads[i % payloads.Length], variant.Seal ? keys.For(i) : null))).Lsn;
            if (i % 256 == 255)
            {
                await wal.FlushAsync(last);
            }
        }

        await wal.FlushAsync(last);
        return records / clock.Elapsed.TotalSeconds;
    }

    private static WalRecord Record(int writer, int seq, JsonElement payload, Guid? keyId)
    {
        var entity = string.Create(CultureInfo.InvariantCulture, $"w{writer}-{seq % 1000}");
        return new WalRecord
        {
            Id = Guid.CreateVersion7(),
            Service = "bench",
            Version = 1,
            Timestamp = DateTimeOffset.UtcNow,
            Operation = WalOperation.Update,
            DtoType = "Entity",
            EntityId = entity,
            Payload = payload,
            ReplayKey = ReplayKey.Create("bench", "bench", 1, "Entity", entity),
            RequestId = string.Create(CultureInfo.InvariantCulture, $"r{seq}"),
            PayloadKeyId = keyId,
            Subject = keyId is null ? null : "Entity/" + entity,
        };
    }

    // One data key per subject (1000 subjects), as the key ring would hold them.
    private sealed class Keys : IDataKeyProvider
    {
        private readonly ConcurrentDictionary<Guid, DataKey> _byId = new();
        private readonly Guid[] _ids = new Guid[1000];

        public Keys()
        {
            for (var i = 0; i < _ids.Length; i++)
            {
                var key = DataKey.Generate();
                _byId[key.Id] = key;
                _ids[i] = key.Id;
            }
        }

        public Guid For(int seq) => _ids[seq % _ids.Length];

        public bool TryGetKey(Guid keyId, [NotNullWhen(true)] out DataKey? key) => _byId.TryGetValue(keyId, out key);
    }
}
