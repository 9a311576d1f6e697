using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Audit.Mongo;
using Nv.Audit.Sqlite;
using Nv.Unit.Tests.Audit;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 items 1, 2 and 9: the MongoDB audit document keeps every hashed field (the WAL record hash, the
/// encoding version), so the chain verifies and hashes equal the SQLite sink's; without a Merkle tree, verification works
/// on the chain alone and proofs fail with a clear exception; a failed append says what really happened.</summary>
public sealed class MongoAuditStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    /// <summary>Every shape of entry, linked as a sink links them (sequence, previous hash, hash with its version).</summary>
    public static TheoryData<string> Shapes() => ["mutation-v2", "delete-v2", "system-v2", "fixed-v1", "fixed-v2"];

    private static AuditEntry Shape(string name)
    {
        var entry = name switch
        {
            "mutation-v2" => AuditEntryFactory.FromWalRecord(AuditTestData.Record(), Json("""{"status":"new","total":1.50}""")),
            "delete-v2" => AuditEntryFactory.FromWalRecord(AuditTestData.Record(WalOperation.Delete), Json("""{"status":"paid"}""")),
            "system-v2" => AuditEntryFactory.ServiceStarted("orders", metadata: new Dictionary<string, string> { ["version"] = "1.2.3" }),
            "fixed-v1" => AuditTestData.FixedEntry(),
            _ => AuditTestData.FixedEntryV2(),
        };
        var linked = entry with
        {
            Sequence = 3,
            PrevHash = new string('b', 64),
            EncodingVersion = entry.EncodingVersion == 0 ? AuditCanonicalEncoding.Version : entry.EncodingVersion,
        };
        return linked with { Hash = AuditHash.Compute(linked) };
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_entry_shape_round_trips_through_bson_bytes_with_every_hashed_field(string shape)
    {
        var entry = Shape(shape);

        var bytes = MongoAuditDocument.ToBson(entry, new ArrayBufferWriter<byte>()).ToBson();
        var back = MongoAuditDocument.FromBson(BsonSerializer.Deserialize<BsonDocument>(bytes));

        Assert.Equal(entry.WalRecordHash, back.WalRecordHash);
        Assert.Equal(entry.EncodingVersion, back.EncodingVersion);
        Assert.Equal(AuditCanonicalEncoding.Encode(entry), AuditCanonicalEncoding.Encode(back));
        Assert.Equal(entry.Hash, AuditHash.Compute(back));
        Assert.Equal(entry.Hash, back.Hash);
    }

    [Fact]
    public void A_document_of_the_first_layout_reads_as_encoding_2_without_a_wal_record_hash()
    {
        var system = Shape("system-v2");
        var document = MongoAuditDocument.ToBson(system, new ArrayBufferWriter<byte>());
        document.Remove("walRecordHash");
        document.Remove("encoding");

        var back = MongoAuditDocument.FromBson(document);

        Assert.Equal(2, back.EncodingVersion);
        Assert.Null(back.WalRecordHash);
        Assert.Equal(system.Hash, AuditHash.Compute(back)); // what the first layout's sink hashed, so it still verifies
    }

    [Theory]
    [InlineData("encoding", 7)]
    [InlineData("encoding", "two")]
    [InlineData("walRecordHash", 5)]
    public void A_damaged_encoding_or_wal_record_hash_is_a_format_error(string field, object value)
    {
        var document = MongoAuditDocument.ToBson(Shape("mutation-v2"), new ArrayBufferWriter<byte>());
        document[field] = BsonValue.Create(value);
        Assert.Throws<FormatException>(() => MongoAuditDocument.FromBson(document));
    }

    /// <summary>The same entries appended to the SQLite sink and to the MongoDB sink (over the fake server): the same hash
    /// for every entry, and both chains verify.</summary>
    [Fact]
    public async Task The_mongo_sink_stores_the_same_chain_as_the_sqlite_sink_and_it_verifies()
    {
        var entries = new List<AuditEntry>
        {
            AuditEntryFactory.ServiceStarted("orders"),
            AuditEntryFactory.FromWalRecord(AuditTestData.Record(WalOperation.Create, """{"status":"new","total":10}"""), null),
            AuditEntryFactory.FromWalRecord(AuditTestData.Record(WalOperation.Update) with { Id = Guid.CreateVersion7(), Lsn = new Lsn(100) },
                Json("""{"status":"new","total":10}""")),
            AuditEntryFactory.FromWalRecord(AuditTestData.Record(WalOperation.Delete) with { Id = Guid.CreateVersion7(), Lsn = new Lsn(101) },
                Json("""{"status":"paid"}""")),
            AuditEntryFactory.ServiceStopped("orders"),
        };
        var directory = Path.Combine(Path.GetTempPath(), "nv-mongo-audit-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var sqlite = new SqliteAuditSink(new AuditOptions { DataDirectory = directory });
            await sqlite.InitializeAsync(Ct);
            await sqlite.AppendAsync(entries, Ct);
            var server = new FakeMongoServer();
            await using var mongo = new MongoAuditSink(new AuditOptions { MongoUri = "mongodb://fake/", MongoDatabase = "nv_audit", MaxBatchSize = 2 },
                server.Database("nv_audit"));
            Assert.Equal(entries.Count, await mongo.AppendAsync(entries, Ct));

            foreach (var entry in entries)
            {
                var fromSqlite = await sqlite.GetAsync(entry.Id, Ct);
                var fromMongo = await mongo.GetAsync(entry.Id, Ct);
                Assert.Equal(fromSqlite!.Hash, fromMongo!.Hash);
                Assert.Equal(fromSqlite.WalRecordHash, fromMongo.WalRecordHash);
            }

            var verified = await mongo.VerifyAsync(Ct);
            Assert.True(verified.IsValid, verified.Reason);
            Assert.Equal(entries.Count, verified.EntriesChecked);
            Assert.True((await sqlite.VerifyAsync(Ct)).IsValid);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Without_a_merkle_tree_verify_checks_the_chain_and_proofs_fail_clearly()
    {
        // The MongoDB store keeps its own Merkle tree (so it is its own IAuditProofs); a store without one gets the
        // chain-only stand-in, which refuses proofs with a clear, non-transient exception (HTTP 501).
        await using var provider = new ServiceCollection()
            .AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build())
            .AddNvAudit(o => { o.MongoUri = "mongodb://127.0.0.1:1/"; o.DataDirectory = Path.GetTempPath(); })
            .BuildServiceProvider();
        Assert.IsType<MongoAuditSink>(provider.GetRequiredService<IAuditProofs>());

        var proofs = new ChainOnlyAuditProofs(AuditSinks.CreateInMemory(), "MongoDB");
        var ex = await Assert.ThrowsAsync<AuditProofsUnavailableException>(() => proofs.GetInclusionProofAsync(Guid.NewGuid(), null, Ct));
        Assert.False(ex.IsTransient);
        Assert.Contains("MongoDB", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AuditProofsUnavailableException>(() => proofs.GetConsistencyProofAsync("orders", 1, 2, Ct));
        await Assert.ThrowsAsync<AuditProofsUnavailableException>(() => proofs.GetLatestCheckpointAsync("orders", Ct));
        await Assert.ThrowsAsync<AuditProofsUnavailableException>(() => proofs.CheckpointAllAsync(Ct));
    }

    [Fact]
    public async Task Chain_only_verification_reports_the_stored_chains()
    {
        var server = new FakeMongoServer();
        await using var sink = new MongoAuditSink(new AuditOptions { MongoUri = "mongodb://fake/", MongoDatabase = "nv_audit" }, server.Database("nv_audit"));
        await sink.AppendAsync([AuditEntryFactory.ServiceStarted("orders"), AuditEntryFactory.FromWalRecord(AuditTestData.Record(), Json("""{"a":1}"""))], Ct);
        var proofs = new ChainOnlyAuditProofs(sink, "MongoDB");

        var result = await proofs.VerifyAsync(new AuditVerifyOptions(), Ct);

        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(2, result.EntriesChecked);
        Assert.Equal(0, result.CheckpointsChecked);

        // Tampering is still found by the chain.
        var stored = server.Documents("nv_audit", "audit_entries").Single(d => d["sequence"] == 2);
        stored["walRecordHash"] = new string('0', 64);
        server.Put("nv_audit", "audit_entries", stored);
        var broken = await proofs.VerifyAsync(null, Ct);
        Assert.False(broken.IsValid);
        Assert.Equal(2, broken.BrokenSequence);
    }

    /// <summary>An ordered insert that fails part-way leaves a prefix stored; the log says so instead of "rolled back".</summary>
    [Fact]
    public async Task A_failed_append_is_logged_as_what_it_is_and_the_retry_completes_the_chain()
    {
        var server = new FakeMongoServer();
        var logger = new FakeLogger();
        await using var sink = new MongoAuditSink(new AuditOptions { MongoUri = "mongodb://fake/", MongoDatabase = "nv_audit" }, server.Database("nv_audit"), logger);
        var fail = true;
        server.After = op => fail && op.Kind == "insert" ? FakeErrors.ConnectionLost() : null;
        var entries = new[] { AuditEntryFactory.ServiceStarted("orders"), AuditEntryFactory.FromWalRecord(AuditTestData.Record(), Json("{}")) };

        await Assert.ThrowsAsync<MongoDB.Driver.MongoConnectionException>(() => sink.AppendAsync(entries, Ct));

        var record = logger.Collector.GetSnapshot().Single(r => r.Level == LogLevel.Warning);
        Assert.DoesNotContain("entries rolled back", record.Message, StringComparison.Ordinal);
        Assert.Contains("may be stored", record.Message, StringComparison.Ordinal);

        fail = false;
        Assert.Equal(0, await sink.AppendAsync(entries, Ct)); // both had landed: the retry skips them
        Assert.True((await sink.VerifyAsync(Ct)).IsValid);
    }
}
