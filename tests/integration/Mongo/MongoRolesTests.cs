using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Mongo;

/// <summary>Issue 19 item 3 on a real server: the least-privilege role the README gives (read-write on the entity database,
/// insert-only on the audit collection, which has a database of its own) is enough for the writer and the audit sink,
/// and does not let Nv's user change or delete an audit entry. Skipped, with the reason, on a server without access
/// control (nothing would be refused).</summary>
[Collection("mongo")]
public sealed class MongoRolesTests(MongoFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The README's role, for these databases (keep the two in step).</summary>
    private static BsonDocument Role(string name, string entityDb, string auditDb) => new()
    {
        { "createRole", name },
        {
            "privileges", new BsonArray
            {
                new BsonDocument
                {
                    { "resource", new BsonDocument { { "db", entityDb }, { "collection", "" } } },
                    { "actions", new BsonArray { "find", "insert", "update", "remove", "createCollection", "createIndex", "listCollections" } },
                },
                new BsonDocument
                {
                    { "resource", new BsonDocument { { "db", entityDb }, { "collection", "_nv_requests" } } },
                    { "actions", new BsonArray { "collMod" } },
                },
                new BsonDocument
                {
                    { "resource", new BsonDocument { { "db", auditDb }, { "collection", "audit_entries" } } },
                    { "actions", new BsonArray { "find", "insert", "createCollection", "createIndex" } },
                },
                new BsonDocument
                {
                    { "resource", new BsonDocument { { "db", auditDb }, { "collection", "audit_merkle_leaves" } } },
                    { "actions", new BsonArray { "find", "insert", "createCollection", "createIndex" } },
                },
                new BsonDocument
                {
                    { "resource", new BsonDocument { { "db", auditDb }, { "collection", "audit_checkpoints" } } },
                    { "actions", new BsonArray { "find", "insert", "createCollection", "createIndex" } },
                },
                new BsonDocument
                {
                    { "resource", new BsonDocument { { "db", auditDb }, { "collection", "audit_signing_keys" } } },
                    { "actions", new BsonArray { "find", "insert", "createCollection" } },
                },
            }
        },
        { "roles", new BsonArray() },
    };

    [Fact]
    public async Task The_readme_role_is_enough_for_nv_and_keeps_the_audit_trail_insert_only()
    {
        var adminUri = fixture.RequireServer();
        var entityDb = MongoFixture.DatabaseFor(typeof(MongoRolesTests));
        var auditDb = entityDb + "_audit";
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var role = "nvWriter_" + suffix;
        var user = "nv_" + suffix;
        using var admin = new MongoClient(adminUri);
        var adminDb = admin.GetDatabase("admin");
        await fixture.DropAsync(entityDb, Ct);
        await fixture.DropAsync(auditDb, Ct);
        await adminDb.RunCommandAsync<BsonDocument>(Role(role, entityDb, auditDb), cancellationToken: Ct);
        await adminDb.RunCommandAsync<BsonDocument>(new BsonDocument
        {
            { "createUser", user }, { "pwd", "pw-" + suffix }, { "roles", new BsonArray { new BsonDocument { { "role", role }, { "db", "admin" } } } },
        }, cancellationToken: Ct);
        try
        {
            var url = new MongoUrlBuilder(adminUri) { Username = user, Password = "pw-" + suffix, AuthenticationSource = "admin" }.ToString();

            await using (var writer = await MongoDbWriters.OpenAsync(new DbWriterOptions { MongoUri = url, MongoDatabase = entityDb }, cancellationToken: Ct))
            {
                var results = await writer.ApplyAsync([Create(1, "a", """{"v":1}"""), Update(2, "a", """{"v":2}"""), Delete(3, "a")], Ct);
                Assert.All(results, r => Assert.Equal(ApplyStatus.Applied, r.Status));
                await writer.PurgeAsync(new Lsn(3), Ct);
            }

            await using (var sink = await MongoAuditSinks.OpenAsync(new AuditOptions { MongoUri = url, MongoDatabase = auditDb }, cancellationToken: Ct))
            {
                await sink.AppendAsync([AuditEntryFactory.ServiceStarted("roles")], Ct);
                Assert.True((await sink.VerifyAsync(Ct)).IsValid);
            }

            using var asNv = new MongoClient(url);
            var entries = asNv.GetDatabase(auditDb).GetCollection<BsonDocument>("audit_entries");
            try
            {
                await entries.UpdateOneAsync(FilterDefinition<BsonDocument>.Empty, new BsonDocument("$set", new BsonDocument("reason", "edited")), cancellationToken: Ct);
            }
            catch (MongoCommandException ex) when (ex.Code == 13)
            {
                await Assert.ThrowsAsync<MongoCommandException>(() => entries.DeleteManyAsync(FilterDefinition<BsonDocument>.Empty, Ct));
                return;
            }

            Assert.Skip("The server does not enforce access control (the update was allowed): start it with authentication to check the role.");
        }
        finally
        {
            await adminDb.RunCommandAsync<BsonDocument>(new BsonDocument("dropUser", user), cancellationToken: Ct);
            await adminDb.RunCommandAsync<BsonDocument>(new BsonDocument("dropRole", role), cancellationToken: Ct);
        }
    }
}
