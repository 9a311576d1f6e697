using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Mongo;

/// <summary>Issue 19 item 6, without a server: the same request payloads, normalized as the pipeline does, come back from
/// the real SQLite writer (a real file) and through the MongoDB writer's mapping (JSON → BSON bytes → JSON, the driver's
/// serializer) byte for byte identical, and so do the audit hashes of their before images.</summary>
public sealed class NumberParityTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> Corpus() => new()
    {
        { "1e5", "100000" }, { "1E+5", "100000" }, { "100E-2", "1" }, { "1.50", "1.5" }, { "-0.0", "0" }, { "0", "0" },
        { "0.1", "0.1" }, { "1e-7", "1e-7" }, { "0.000001", "0.000001" }, { "1e21", "1e+21" }, { "2147483648", "2147483648" },
        { "12345678901234567890", "12345678901234567890" }, { "1234567890123456789012", "1.234567890123456789012e+21" },
        { "3.141592653589793238462643383279502", "3.141592653589793238462643383279502" }, { "1e400", "1e+400" }, { "-2.5E-10", "-2.5e-10" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Both_writers_return_and_hash_the_same_bytes(string token, string canonical)
    {
        var payload = JsonNumbers.Normalize(Json($$"""{"n":{{token}},"list":[{{token}},{"m":{{token}}}]}"""));
        var expected = $$"""{"n":{{canonical}},"list":[{{canonical}},{"m":{{canonical}}}]}""";

        await using var sqlite = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path });
        await sqlite.ApplyAsync([Create(1, "e1", payload.GetRawText())], Ct);
        var update = await sqlite.ApplyAsync([Update(2, "e1", """{"n":0}""")], Ct);
        var fromSqlite = (await sqlite.ApplyAsync([Create(3, "e2", payload.GetRawText())], Ct)).Single().After!.Value;
        var stored = (await sqlite.GetAsync(DefaultType, "e2", Ct))!.Document;

        var bytes = MongoJson.ToBson(payload).ToBson();
        var fromMongo = MongoJson.ToJson(BsonSerializer.Deserialize<BsonDocument>(bytes));

        Assert.Equal(expected, stored.GetRawText());
        Assert.Equal(expected, fromMongo.GetRawText());
        Assert.Equal(expected, fromSqlite.GetRawText());
        Assert.Equal(expected, update.Single().Before!.Value.GetRawText());

        // The audit entry of an update hashes the before image: the same on both stores.
        var record = Update(4, "e1", """{"n":0}""");
        var sqliteEntry = Link(AuditEntryFactory.FromWalRecord(record, update.Single().Before));
        var mongoEntry = Link(AuditEntryFactory.FromWalRecord(record, fromMongo));
        Assert.Equal(AuditCanonicalEncoding.Encode(sqliteEntry), AuditCanonicalEncoding.Encode(mongoEntry));
        Assert.Equal(sqliteEntry.Hash, mongoEntry.Hash);
    }

    private static AuditEntry Link(AuditEntry entry)
    {
        var linked = entry with { Sequence = 1, PrevHash = AuditHash.Genesis, EncodingVersion = AuditCanonicalEncoding.Version };
        return linked with { Hash = AuditHash.Compute(linked) };
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
