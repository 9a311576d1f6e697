using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using Nv.Wal.Protection;

namespace Nv.Integration.Tests.Http;

/// <summary>A write whose WAL record is too large is refused for that request alone; the WAL stays open.</summary>
public sealed class RecordLimitApiTests
{
    [Fact]
    public async Task A_record_the_wal_cannot_take_is_a_413_for_that_request_and_later_writes_still_succeed()
    {
        // The payload limit fits a record (options validation), but the metadata headers push this record past it.
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Wal:MaxRecordBytes=8192", "--Nv:Pipeline:MaxPayloadBytes=4096",
            "--Nv:Pipeline:MaxBatchBytes=8192");
        var ct = TestContext.Current.CancellationToken;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/entities/Item/big")
        {
            Content = new StringContent("""{"a":1}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Request-Id", NvTestApp.NewRequestId());
        for (var i = 0; i < 12; i++)
        {
            request.Headers.Add("X-Meta-Note" + i, new string('m', 1000));
        }

        var refused = await app.Client.SendAsync(request, ct);
        var problem = await NvTestApp.AssertProblemAsync(refused, 413, "payload-too-large");
        Assert.Contains("Nv:Wal:MaxRecordBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(Lsn.None, app.Wal.LastLsn);
        Assert.Equal(WalState.Open, app.Wal.State);

        var ready = await app.Client.GetAsync("/health/ready", ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var next = await app.CreateAsync("Item", "small", """{"a":2}""");
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        Assert.Equal(new Lsn(1), app.Wal.LastLsn);
    }

    /// <summary>Was a fault of the whole write path: the batch estimate left out what encryption at rest adds to each item
    /// (the seal, the key id and the subject), so a batch within Nv:Pipeline:MaxBatchBytes reached the WAL over its record
    /// limit, and the batch encoder's refusal (an ArgumentException, not WalRecordTooLargeException) faulted the pipeline:
    /// every later write failed until a restart, and a client's retry after it faulted the host again.</summary>
    [Fact]
    public async Task With_encryption_at_rest_a_batch_whose_seals_push_it_past_the_record_limit_is_a_413_and_later_writes_succeed()
    {
        using var keys = new TempDirectory();
        var master = Path.Combine(keys.Path, "master.key");
        FileMasterKeyProvider.CreateKeyFile(master);
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Encryption:MasterKeyFile=" + master, "--Nv:Wal:MaxRecordBytes=65536",
            "--Nv:Pipeline:MaxBatchBytes=65536", "--Nv:Pipeline:MaxPayloadBytes=32768");
        var ct = TestContext.Current.CancellationToken;

        // 200 items of ~220 bytes of incompressible payload: about 60 KB as plain items, over 64 KiB once each is sealed
        // (47 bytes of envelope, key id and seal, plus its subject "Item/<id>").
        var refused = await app.Client.SendAsync(BatchOf("big", 200, 160), ct);

        var problem = await NvTestApp.AssertProblemAsync(refused, 413, "payload-too-large");
        Assert.Contains("as written to the WAL; the limit is 65536", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal((WalState.Open, Lsn.None), (app.Wal.State, app.Wal.LastLsn));
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/health/ready", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(BatchOf("small", 100, 160), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Item", "single", """{"a":2}""")).StatusCode);
        Assert.Equal(new Lsn(2), app.Wal.LastLsn);
    }

    [Fact]
    public async Task A_batch_over_the_batch_limit_is_a_413_and_later_writes_succeed()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Wal:MaxRecordBytes=65536", "--Nv:Pipeline:MaxBatchBytes=65536",
            "--Nv:Pipeline:MaxPayloadBytes=32768");
        var ct = TestContext.Current.CancellationToken;

        var refused = await app.Client.SendAsync(BatchOf("big", 8, 10_000), ct);

        var problem = await NvTestApp.AssertProblemAsync(refused, 413, "payload-too-large");
        Assert.Contains("the limit is 65536", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal((WalState.Open, Lsn.None), (app.Wal.State, app.Wal.LastLsn));
        Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(BatchOf("small", 4, 10_000), ct)).StatusCode);
        Assert.Equal(new Lsn(1), app.Wal.LastLsn);
    }

    // A batch of creates with random (incompressible) base64 payloads of about `size` characters.
    private static HttpRequestMessage BatchOf(string prefix, int count, int size)
    {
        var items = string.Join(",", Enumerable.Range(0, count).Select(i =>
            $$$"""{"op":"create","dtoType":"Item","entityId":"{{{prefix}}}-{{{i}}}","payload":{"s":"{{{Convert.ToBase64String(RandomNumberGenerator.GetBytes(size))}}}"}}"""));
        return NvTestApp.Request(HttpMethod.Post, "/v1/batch", "{\"items\":[" + items + "]}", NvTestApp.NewRequestId());
    }
}
