using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Host.Protection;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using Nv.Wal.Protection;

namespace Nv.Unit.Tests.Mongo;

/// <summary>An erasure on MongoDB is not reported as scrubbed: the erased entities' plain-text documents may remain in the
/// server's data files, journal and oplog, which no client can scrub, and the caller is told so (as SQLite's caller is
/// told when a reader kept its WAL file from being emptied).</summary>
public sealed class MongoErasureScrubTests : IDisposable
{
    private readonly string _walDirectory = Path.Combine(Path.GetTempPath(), "nv-mongo-erasure-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_walDirectory))
        {
            Directory.Delete(_walDirectory, recursive: true);
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_mongodb_writer_never_claims_a_scrub_and_says_what_may_remain()
    {
        await using var mongo = new FakeMongoWriter();
        IDataKeyStore store = mongo.Writer;

        Assert.False(await store.ScrubAsync(Ct));
        Assert.Contains("oplog", store.UnscrubbedDetail, StringComparison.Ordinal);
        Assert.Contains("journal", store.UnscrubbedDetail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_erasure_on_mongodb_is_answered_as_erased_but_not_scrubbed_with_the_stores_detail()
    {
        await using var mongo = new FakeMongoWriter();
        using var master = FileMasterKeyProvider.FromKey(RandomNumberGenerator.GetBytes(32));
        using var keys = new KeyRing(new EncryptionOptions(), mongo.Writer, logger: null, master);
        // The real WAL: it seals payloads under the subjects' data keys (the erasure destroys those).
        await using var wal = new FasterWriteAheadLog(Options.Create(new WalOptions { Directory = _walDirectory }), keys: keys);
        var options = Options.Create(new PipelineOptions
        {
            Environment = "test",
            Service = "svc",
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromMilliseconds(50),
            AuditBackfillInterval = TimeSpan.FromHours(1),
        });
        var coordinator = new AuditCoordinator(wal, mongo.Writer, new InMemoryAuditSink(), new FakeLogger<AuditCoordinator>(), keys: keys);
        var pipeline = new WritePipeline(wal, mongo.Writer, coordinator, options, new FakeLogger<WritePipeline>(), keys: keys);
        try
        {
            pipeline.Start();
            Assert.Equal(WriteStatus.Applied, (await pipeline.WriteAsync(new WriteRequest
            {
                RequestId = "c1",
                Operation = WalOperation.Create,
                DtoType = "Customer",
                EntityId = "ada",
                Payload = JsonDocument.Parse("""{"name":"Ada"}""").RootElement.Clone(),
                UserId = "u1",
            }, Ct)).Status);

            var erased = await pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "ticket" }, Ct)
                .WaitAsync(TimeSpan.FromSeconds(30), Ct);

            Assert.Equal(WriteStatus.Applied, erased.Status);
            Assert.True(erased.Unscrubbed);
            Assert.Equal(((IDataKeyStore)mongo.Writer).UnscrubbedDetail, erased.Detail);
            Assert.Null(await mongo.Writer.GetAsync("Customer", "ada", Ct));
        }
        finally
        {
            await pipeline.DisposeAsync();
            coordinator.Dispose();
        }
    }
}
