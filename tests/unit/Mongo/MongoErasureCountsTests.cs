using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Host.Pipeline;
using Nv.Host.Protection;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Unit.Tests.Support;
using Nv.Wal;
using Nv.Wal.Protection;

namespace Nv.Unit.Tests.Mongo;

/// <summary>An erasure on MongoDB answers what it destroyed: the keys and the live entities, as recorded in
/// <c>_nv_erasures</c> when it was first applied. One that finds nothing (a mistyped id; on MongoDB also a dtoType in
/// another case, which names another collection) answers zero and says so; a retry, in the same process or after a
/// restart, answers the same.</summary>
public sealed class MongoErasureCountsTests : IDisposable
{
    private readonly string _walDirectory = Path.Combine(Path.GetTempPath(), "nv-mongo-erasure-counts-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _masterKey = RandomNumberGenerator.GetBytes(32);

    public void Dispose()
    {
        if (Directory.Exists(_walDirectory))
        {
            Directory.Delete(_walDirectory, recursive: true);
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The real WAL (it seals payloads under the subjects' keys) and the real pipeline over a MongoDB writer.</summary>
    private sealed class Host : IAsyncDisposable
    {
        private readonly FileMasterKeyProvider _master;
        private readonly KeyRing _keys;
        private readonly FasterWriteAheadLog _wal;
        private readonly AuditCoordinator _coordinator;

        public Host(string walDirectory, byte[] masterKey, MongoDbWriter writer)
        {
            _master = FileMasterKeyProvider.FromKey(masterKey);
            _keys = new KeyRing(new EncryptionOptions(), writer, logger: null, _master);
            _wal = new FasterWriteAheadLog(Options.Create(new WalOptions { Directory = walDirectory }), keys: _keys);
            var options = Options.Create(new PipelineOptions
            {
                Environment = "test",
                Service = "svc",
                InitialRetryDelay = TimeSpan.FromMilliseconds(10),
                MaxRetryDelay = TimeSpan.FromMilliseconds(50),
                AuditBackfillInterval = TimeSpan.FromHours(1),
            });
            _coordinator = new AuditCoordinator(_wal, writer, Audit, new FakeLogger<AuditCoordinator>(), keys: _keys);
            Pipeline = new WritePipeline(_wal, writer, _coordinator, options, new FakeLogger<WritePipeline>(), keys: _keys);
            Pipeline.Start();
        }

        public WritePipeline Pipeline { get; }

        public InMemoryAuditSink Audit { get; } = new();

        public Task<WriteOutcome> EraseAsync(string requestId, string dtoType, string entityId) =>
            Pipeline.EraseAsync(new EraseRequest { RequestId = requestId, DtoType = dtoType, EntityId = entityId, Reason = "ticket" }, Ct)
                .WaitAsync(TimeSpan.FromSeconds(30), Ct);

        public async Task CreateAsync(string entityId) => Assert.Equal(WriteStatus.Applied, (await Pipeline.WriteAsync(new WriteRequest
        {
            RequestId = "c-" + entityId,
            Operation = WalOperation.Create,
            DtoType = "Customer",
            EntityId = entityId,
            Payload = JsonDocument.Parse("""{"name":"Ada"}""").RootElement.Clone(),
            UserId = "u1",
        }, Ct)).Status);

        public async ValueTask DisposeAsync()
        {
            await Pipeline.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            _coordinator.Dispose();
            await _wal.DisposeAsync();
            _keys.Dispose();
            _master.Dispose();
        }
    }

    [Fact]
    public async Task An_erasure_answers_the_keys_and_entities_it_destroyed_and_its_retries_answer_the_same()
    {
        await using var mongo = new FakeMongoWriter();
        WriteOutcome first;
        await using (var host = new Host(_walDirectory, _masterKey, mongo.Writer))
        {
            await host.CreateAsync("ada");
            first = await host.EraseAsync("e1", "Customer", "ada");

            Assert.Equal(WriteStatus.Applied, first.Status);
            Assert.Equal(1, first.Erasure!.KeysDestroyed);
            Assert.Equal(1, first.Erasure.EntitiesDeleted);
            Assert.False(first.Erasure.FoundNothing);
            Assert.Equal(((IDataKeyStore)mongo.Writer).UnscrubbedDetail, first.Detail); // no "nothing found" in front

            var retry = await host.EraseAsync("e1", "Customer", "ada");
            Assert.True(retry.IsReplay);
            Assert.Equal(first with { IsReplay = true, IsAudited = false }, retry); // a retry does not know whether the entry is in the trail
        }

        // A restarted host remembers no request id: the answer comes from the stored outcome and the erasure's record.
        await using var reopened = mongo.Reopen();
        await reopened.InitializeAsync(Ct);
        await using (var host = new Host(_walDirectory, _masterKey, reopened))
        {
            var retry = await host.EraseAsync("e1", "Customer", "ada");
            Assert.True(retry.IsReplay);
            Assert.Equal(first.Erasure, retry.Erasure);
            Assert.Equal(first.Detail, retry.Detail);
            Assert.Equal(first.Lsn, retry.Lsn);
        }
    }

    /// <summary>Fails without the live-entity count in MongoDbWriter.ApplyEraseAsync: the erasure of a mistyped id of a
    /// stored type was recorded (and answered) as one entity deleted, counting the entity's collection, not the entity.</summary>
    [Fact]
    public async Task An_erasure_of_a_mistyped_id_records_and_answers_that_nothing_was_found()
    {
        await using var mongo = new FakeMongoWriter();
        await using var host = new Host(_walDirectory, _masterKey, mongo.Writer);
        await host.CreateAsync("ada");

        var outcome = await host.EraseAsync("e1", "Customer", "adaa");

        Assert.Equal(WriteStatus.Applied, outcome.Status);
        Assert.Equal(0, outcome.Erasure!.KeysDestroyed);
        Assert.Equal(0, outcome.Erasure.EntitiesDeleted);
        Assert.StartsWith("Nothing was found to erase: Customer/adaa", outcome.Detail, StringComparison.Ordinal);
        var recorded = Assert.Single(await ((IDataKeyStore)mongo.Writer).GetErasuresAsync(10, Ct));
        Assert.Equal(0, recorded.EntitiesDeleted);
        Assert.NotNull(await mongo.Writer.GetAsync("Customer", "ada", Ct));
        Assert.Single(host.Audit.Entries, e => e.Category == Nv.Audit.AuditCategory.DataErasure && e.EntityId == "adaa"); // still audited

        var retry = await host.EraseAsync("e1", "Customer", "adaa");
        Assert.Equal(outcome with { IsReplay = true, IsAudited = false }, retry);
    }

    /// <summary>On MongoDB a dtoType in another case names another collection (no case check refuses it, as SQLite's
    /// does): such an erasure answered "erased" having destroyed nothing; now it says so.</summary>
    [Fact]
    public async Task An_erasure_naming_the_type_in_another_case_answers_that_nothing_was_found()
    {
        await using var mongo = new FakeMongoWriter();
        await using var host = new Host(_walDirectory, _masterKey, mongo.Writer);
        await host.CreateAsync("ada");

        var outcome = await host.EraseAsync("e1", "customer", "ada");

        Assert.Equal(WriteStatus.Applied, outcome.Status);
        Assert.True(outcome.Erasure!.FoundNothing);
        Assert.StartsWith("Nothing was found to erase: customer/ada", outcome.Detail, StringComparison.Ordinal);
        Assert.NotNull(await mongo.Writer.GetAsync("Customer", "ada", Ct));
    }
}
