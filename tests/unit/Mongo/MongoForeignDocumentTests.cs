using MongoDB.Bson;
using Nv.DbWriter;
using Nv.Unit.Tests.Mongo.Fakes;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 item 5: a document Nv did not write (no valid <c>_nv</c>) in an entity collection is read as not
/// found, and every write to its id is rejected (Unstorable) without touching it; it never wedges a batch or a read.</summary>
public sealed class MongoForeignDocumentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> ForeignDocuments() =>
    [
        """{ "_id": "f", "name": "written by hand" }""",
        """{ "_id": "f", "_nv": "not an object" }""",
        """{ "_id": "f", "_nv": { "lsn": "seven", "walId": "0190b9d2-0000-7000-8000-000000000001" }, "doc": {} }""",
        """{ "_id": "f", "_nv": { "lsn": NumberLong(3), "walId": "not-a-guid" }, "doc": {} }""",
        """{ "_id": "f", "_nv": { "lsn": NumberLong(3), "walId": "0190b9d2-0000-7000-8000-000000000001", "deleted": false } }""",
    ];

    [Theory]
    [MemberData(nameof(ForeignDocuments))]
    public async Task A_foreign_document_reads_as_not_found(string json)
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.Put(DatabaseName, "Order", BsonDocument.Parse(json));

        Assert.Null(await mongo.Writer.GetAsync("Order", "f", Ct));
    }

    [Theory]
    [MemberData(nameof(ForeignDocuments))]
    public async Task Writes_to_a_foreign_document_are_rejected_and_the_batch_goes_on(string json)
    {
        await using var mongo = new FakeMongoWriter();
        var foreign = BsonDocument.Parse(json);
        mongo.Server.Put(DatabaseName, "Order", foreign);

        var results = await mongo.Writer.ApplyAsync([Create(1, "f"), Update(2, "f", """{"v":2}"""), Delete(3, "f"), Create(4, "g")], Ct);

        Assert.Equal([ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.All(results.Take(3), r => Assert.Equal(RejectReason.Unstorable, r.RejectReason));
        Assert.Contains("did not write", results[0].Error, StringComparison.Ordinal);
        Assert.Equal(foreign, mongo.Stored("Order").Single(d => d["_id"] == "f"));
        Assert.Equal(new Nv.Wal.Lsn(4), await mongo.Writer.GetResolvedThroughAsync(Ct));
    }

    /// <summary>A foreign document that appears between the writer's read and its write: the upsert's insert hits E11000,
    /// the slot is read again, and the record is rejected instead of failing the batch.</summary>
    [Fact]
    public async Task A_foreign_document_that_appears_during_the_batch_rejects_the_record()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.Before = op =>
        {
            if (op is { Kind: "bulk", Collection: "Order" } && !mongo.Server.Documents(DatabaseName, "Order").Any(d => d["_id"] == "late"))
            {
                mongo.Server.Put(DatabaseName, "Order", new BsonDocument { { "_id", "late" }, { "by", "another program" } });
            }

            return null;
        };

        var results = await mongo.Writer.ApplyAsync([Create(1, "late"), Create(2, "other")], Ct);

        Assert.Equal([ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.Equal(RejectReason.Unstorable, results[0].RejectReason);
        Assert.Equal("another program", mongo.Stored("Order").Single(d => d["_id"] == "late")["by"].AsString);
    }
}
