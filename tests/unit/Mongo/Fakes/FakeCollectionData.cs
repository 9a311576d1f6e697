using MongoDB.Bson;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>The documents of one fake collection, in insertion order, and its unique indexes.</summary>
internal sealed class FakeCollectionData
{
    public List<BsonDocument> Documents { get; } = [];

    public List<BsonDocument> UniqueIndexes { get; } = [];

    public List<string> IndexNames { get; } = [];

    /// <summary>A deep copy (documents cloned), as a transaction's snapshot keeps it.</summary>
    public FakeCollectionData Copy()
    {
        var copy = new FakeCollectionData();
        copy.Documents.AddRange(Documents.Select(FakeMongoServer.Clone));
        copy.UniqueIndexes.AddRange(UniqueIndexes);
        copy.IndexNames.AddRange(IndexNames);
        return copy;
    }

    public int IndexOf(BsonValue id) => Documents.FindIndex(d => d["_id"].Equals(id));

    /// <summary>Inserts or replaces by _id (no checks).</summary>
    public void Replace(BsonDocument document)
    {
        var at = IndexOf(document["_id"]);
        if (at < 0)
        {
            Documents.Add(document);
        }
        else
        {
            Documents[at] = document;
        }
    }
}
