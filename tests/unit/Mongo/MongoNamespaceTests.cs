using Microsoft.Extensions.Configuration;
using MongoDB.Bson;
using Nv.Audit;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Host.Configuration;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Mongo.Fakes;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 item 3: Nv's collections kept apart by name. The audit trail has a database of its own by default,
/// reserved dtoTypes are refused before the WAL, and purge walks only entity collections, creating no index.</summary>
[Collection("environment")]
public sealed class MongoNamespaceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void The_audit_trail_and_the_entities_live_in_different_databases_by_default()
    {
        Assert.Equal("nv", new DbWriterOptions().MongoDatabase);
        Assert.Equal("nv_audit", new AuditOptions().MongoDatabase);
    }

    [Theory]
    [InlineData(null, null, "nv", "nv_audit")]
    [InlineData("shop", null, "shop", "shop_audit")]
    [InlineData("shop", "trail", "shop", "trail")]
    [InlineData(null, "trail", "nv", "trail")]
    public void The_environment_names_both_databases(string? entityDb, string? auditDb, string expectedEntity, string expectedAudit)
    {
        var saved = (Environment.GetEnvironmentVariable("NV_MONGO_DB"), Environment.GetEnvironmentVariable("NV_MONGO_AUDIT_DB"));
        try
        {
            Environment.SetEnvironmentVariable("NV_MONGO_DB", entityDb);
            Environment.SetEnvironmentVariable("NV_MONGO_AUDIT_DB", auditDb);
            var configuration = new ConfigurationBuilder().AddNvEnvironment(new ConfigurationBuilder().Build()).Build();

            Assert.Equal(expectedEntity, configuration.GetSection(DbWriterOptions.SectionName).Get<DbWriterOptions>()?.MongoDatabase ?? new DbWriterOptions().MongoDatabase);
            Assert.Equal(expectedAudit, configuration.GetSection(AuditOptions.SectionName).Get<AuditOptions>()?.MongoDatabase ?? new AuditOptions().MongoDatabase);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NV_MONGO_DB", saved.Item1);
            Environment.SetEnvironmentVariable("NV_MONGO_AUDIT_DB", saved.Item2);
        }
    }

    [Theory]
    [InlineData("audit_entries")]
    [InlineData("AUDIT_ENTRIES")]
    [InlineData("Audit_Entries")]
    public void A_reserved_dto_type_is_refused_before_the_wal(string dtoType)
    {
        Assert.True(DtoTypes.IsReserved(dtoType));
        Assert.False(RequestValidator.IsValidDtoType(dtoType));
        var request = new WriteRequest
        {
            RequestId = "r1",
            Operation = Nv.Wal.WalOperation.Create,
            DtoType = dtoType,
            EntityId = "e1",
            Payload = System.Text.Json.JsonDocument.Parse("{}").RootElement,
        };
        var ex = Assert.Throws<WriteValidationException>(() => new RequestValidator(new PipelineOptions()).Validate(request));
        Assert.Equal("dtoType", ex.Field);
        Assert.Contains("audit_entries", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTooLarge);
    }

    [Fact]
    public async Task Purge_walks_only_entity_collections_and_creates_no_index()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a"), Delete(2, "a")], Ct);
        // The audit trail in the same database (an operator's choice), and a collection of another program.
        mongo.Server.Put(DatabaseName, "audit_entries", new BsonDocument { { "_id", "e1" }, { "_nv", new BsonDocument { { "deleted", true }, { "lsn", 1L } } } });
        mongo.Server.Put(DatabaseName, "users", new BsonDocument { { "_id", "u1" } });
        await using var fresh = new MongoDbWriter(new DbWriterOptions { MongoUri = "mongodb://fake/", MongoDatabase = DatabaseName }, mongo.Server.Database(DatabaseName));
        await fresh.InitializeAsync(Ct);
        var before = mongo.Server.Operations.Count;

        await fresh.PurgeAsync(new Nv.Wal.Lsn(2), Ct);

        var purge = mongo.Server.Operations.Skip(before).ToList();
        Assert.DoesNotContain(purge, o => o.Collection == "audit_entries");
        Assert.DoesNotContain(purge, o => o.Kind == "createIndex");
        Assert.Single(mongo.Stored("audit_entries"));
        Assert.DoesNotContain(mongo.Stored("Order"), d => d["_id"] == "a"); // the tombstone is gone
        Assert.False(MongoDbWriter.IsEntityCollection("audit_entries"));
        Assert.False(MongoDbWriter.IsEntityCollection("_nv_resolutions"));
        Assert.True(MongoDbWriter.IsEntityCollection("Order"));
    }
}
