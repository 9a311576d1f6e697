using MongoDB.Bson;
using MongoDB.Driver;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 item 7: the writer reads from the primary whatever the connection string says, and the redo of a
/// pending outcome is held to the version its decision read.</summary>
public sealed class MongoConsistencyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void The_client_and_the_writer_database_read_from_the_primary_whatever_the_uri_says()
    {
        var settings = MongoConnection.Settings("mongodb://a:27017,b:27017/?replicaSet=rs0&readPreference=secondaryPreferred",
            TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), "test");
        Assert.Equal(ReadPreference.Primary, settings.ReadPreference);

        // The driver's own client (no server is contacted to build it): a database that inherits secondaryPreferred...
        var raw = MongoClientSettings.FromConnectionString("mongodb://a:27017,b:27017/?replicaSet=rs0&readPreference=secondaryPreferred");
        using var client = new MongoClient(raw);
        var inherited = client.GetDatabase("nv");
        Assert.Equal(ReadPreferenceMode.SecondaryPreferred, inherited.GetCollection<BsonDocument>("Order").Settings.ReadPreference.ReadPreferenceMode);

        // ...is pinned to the primary for every collection the writer takes from it.
        var pinned = MongoConnection.ForWriter(inherited, WriteConcern.WMajority);
        Assert.Equal(ReadPreferenceMode.Primary, pinned.GetCollection<BsonDocument>("Order").Settings.ReadPreference.ReadPreferenceMode);
        Assert.Equal(ReadPreferenceMode.Primary, pinned.GetCollection<BsonDocument>("_nv_resolutions").Settings.ReadPreference.ReadPreferenceMode);
    }

    [Fact]
    public async Task Every_read_of_the_writer_goes_to_the_primary()
    {
        await using var mongo = new FakeMongoWriter(database: db => db.WithReadPreference(ReadPreference.SecondaryPreferred));

        await mongo.Writer.ApplyAsync([Create(1, "a", """{"v":1}"""), Update(2, "a", """{"v":2}""")], Ct);
        await mongo.Writer.GetAsync("Order", "a", Ct);
        await mongo.Writer.FindByRequestIdAsync("req-1", Ct);
        await mongo.Writer.GetResolutionsAsync(Nv.Wal.Lsn.None, 10, Ct);

        var finds = mongo.Server.Operations.Where(o => o.Kind == "find").ToList();
        Assert.NotEmpty(finds);
        Assert.All(finds, o => Assert.Equal(ReadPreferenceMode.Primary, o.ReadPreference!.ReadPreferenceMode));
    }

    [Fact]
    public async Task A_pending_outcome_stores_the_version_its_decision_read()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a", """{"v":1}""")], Ct);
        mongo.Writer.FailBefore = step => step == "entity-writes";

        await mongo.Writer.ApplyAsync([Update(2, "a", """{"v":2}"""), Create(3, "b")], Ct);

        var update = mongo.Resolution(2)!;
        Assert.True(update.Contains("pending"));
        Assert.Equal(MongoCommands.FormatId(Create(1, "a").Id), update["expectedWalId"].AsString);
        Assert.Equal(1, update["expectedLsn"].ToInt64());
        Assert.False(mongo.Resolution(3)!.Contains("expectedWalId")); // the slot was empty
    }

    /// <summary>An outcome decided on the assumption that an earlier record of the same entity is written, whose write
    /// then turns out impossible: the redo is held to the version it expected, finds the slot never got there, and the
    /// record is decided again (here: an update of an entity that does not exist), instead of being written blind.</summary>
    [Fact]
    public async Task The_redo_of_a_pending_outcome_is_held_to_the_version_it_expected()
    {
        await using var mongo = new FakeMongoWriter();
        Nv.Wal.WalRecord[] batch = [Create(1, "v", """{"v":1}"""), Update(2, "v", """{"v":2}""")];
        mongo.Writer.FailBefore = step => step == "entity-writes";
        var failed = await mongo.Writer.ApplyAsync(batch, Ct);
        Assert.All(failed, r => Assert.Equal(ApplyStatus.Transient, r.Status));

        // Meanwhile the collection got a validator that refuses the create's document.
        mongo.Writer.FailBefore = null;
        mongo.Server.RefuseDocument = (collection, document) =>
            collection == "Order" && document["doc"].AsBsonDocument.GetValue("v", 0) == 1 ? (121, "Document failed validation") : null;

        var retried = await mongo.Writer.ApplyAsync(batch, Ct);

        Assert.Equal([ApplyStatus.Rejected, ApplyStatus.Rejected], retried.Select(r => r.Status));
        Assert.Equal([RejectReason.Unstorable, RejectReason.NotFound], retried.Select(r => r.RejectReason));
        Assert.Null(await mongo.Writer.GetAsync("Order", "v", Ct));
        Assert.Empty(mongo.Stored("Order"));
    }

    /// <summary>The redo after a transient failure completes the batch exactly: each entity written once, with the before
    /// images the first attempt decided.</summary>
    [Fact]
    public async Task A_redo_completes_the_batch_with_the_first_decisions()
    {
        await using var mongo = new FakeMongoWriter();
        await mongo.Writer.ApplyAsync([Create(1, "a", """{"v":1}""")], Ct);
        Nv.Wal.WalRecord[] batch = [Update(2, "a", """{"v":2}"""), Update(3, "a", """{"v":3}"""), Create(4, "b")];
        mongo.Writer.FailBefore = step => step == "entity-writes";
        await mongo.Writer.ApplyAsync(batch, Ct);
        mongo.Writer.FailBefore = null;

        var retried = await mongo.Writer.ApplyAsync(batch, Ct);

        Assert.All(retried, r => Assert.Equal(ApplyStatus.Applied, r.Status));
        Assert.Equal("""{"v":1}""", retried[0].Before!.Value.GetRawText());
        Assert.Equal("""{"v":2}""", retried[1].Before!.Value.GetRawText());
        Assert.Equal(new Nv.Wal.Lsn(3), (await mongo.Writer.GetAsync("Order", "a", Ct))!.Lsn);
        Assert.Equal(new Nv.Wal.Lsn(4), await mongo.Writer.GetResolvedThroughAsync(Ct));
    }
}
