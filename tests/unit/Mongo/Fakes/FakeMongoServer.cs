using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>An in-memory stand-in for a MongoDB server, just large enough for the writer's and the audit sink's
/// protocol steps: documents are stored as BSON bytes (through the driver's own serializer), filters and updates are
/// rendered by the driver and evaluated here (equality, $lt/$lte/$gt/$gte/$in/$eq/$exists, $and/$or; $set, $unset,
/// $max, $setOnInsert; upsert; ordered bulk writes that stop at the first error, E11000 on a duplicate _id or unique
/// index key, 10334 on a document over 16 MiB). Hooks fail or reject chosen operations, as a server or network would.</summary>
public sealed class FakeMongoServer
{
    private readonly Dictionary<string, Dictionary<string, FakeCollectionData>> _databases = new(StringComparer.Ordinal);

    /// <summary>The answer to <c>hello</c>.</summary>
    public BsonDocument Hello { get; set; } = new() { { "ok", 1 }, { "isWritablePrimary", true } };

    /// <summary>Called before every operation; a returned exception is thrown instead of running it.</summary>
    public Func<FakeOperation, Exception?>? Before { get; set; }

    /// <summary>Called after a write ran (its effects are stored); a returned exception is thrown, as a lost acknowledgement.</summary>
    public Func<FakeOperation, Exception?>? After { get; set; }

    /// <summary>Called for every document a write would store; a returned (code, message) refuses it with that write error,
    /// as a collection validator (121) or a server limit would.</summary>
    public Func<string, BsonDocument, (int Code, string Message)?>? RefuseDocument { get; set; }

    private readonly List<FakeOperation> _operations = [];

    /// <summary>Every operation run so far, in order (a copy: the writer's background request-id filter build runs
    /// operations on another thread while a test reads them).</summary>
    public IReadOnlyList<FakeOperation> Operations
    {
        get
        {
            lock (_operations)
            {
                return [.. _operations];
            }
        }
    }

    /// <summary>Records an operation (the server's own calls, and a session's abort).</summary>
    internal void Record(FakeOperation operation)
    {
        lock (_operations)
        {
            _operations.Add(operation);
        }
    }

    /// <summary>Forgets the operations recorded so far.</summary>
    internal void ClearOperations()
    {
        lock (_operations)
        {
            _operations.Clear();
        }
    }

    /// <summary>A database of this server, as the driver's <see cref="IMongoDatabase"/>.</summary>
    public IMongoDatabase Database(string name) => FakeMongoDatabase.Create(this, name, new MongoDatabaseSettings());

    /// <summary>The stored documents of a collection (copies), in insertion order.</summary>
    public IReadOnlyList<BsonDocument> Documents(string database, string collection) =>
        Collection(database, collection, create: false) is { } data ? [.. data.Documents.Select(Clone)] : [];

    /// <summary>Stores a document directly, as another program would.</summary>
    public void Put(string database, string collection, BsonDocument document) =>
        Collection(database, collection, create: true)!.Replace(Clone(document));

    /// <summary>Removes a collection with its documents and indexes, as another program (or an earlier version that never
    /// created it) would leave the database.</summary>
    public void Drop(string database, string collection)
    {
        if (_databases.TryGetValue(database, out var collections))
        {
            collections.Remove(collection);
        }
    }

    /// <summary>The collections of a database.</summary>
    public IReadOnlyList<string> CollectionNames(string database) =>
        _databases.TryGetValue(database, out var collections) ? [.. collections.Keys] : [];

    internal FakeCollectionData? Collection(string database, string collection, bool create)
    {
        if (!_databases.TryGetValue(database, out var collections))
        {
            if (!create)
            {
                return null;
            }

            _databases[database] = collections = new Dictionary<string, FakeCollectionData>(StringComparer.Ordinal);
        }

        if (!collections.TryGetValue(collection, out var data) && create)
        {
            collections[collection] = data = new FakeCollectionData();
        }

        return data;
    }

    internal void Run(FakeOperation operation)
    {
        Record(operation);
        if (Before?.Invoke(operation) is { } failure)
        {
            throw failure;
        }
    }

    internal void Ran(FakeOperation operation)
    {
        if (After?.Invoke(operation) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Every collection as it is now (a transaction's start, see <see cref="FakeSession"/>).</summary>
    internal object Snapshot() => _databases.ToDictionary(d => d.Key, d => d.Value.ToDictionary(c => c.Key, c => c.Value.Copy(), StringComparer.Ordinal),
        StringComparer.Ordinal);

    /// <summary>Puts every collection back as <see cref="Snapshot"/> saw it (a transaction's abort).</summary>
    internal void Restore(object snapshot)
    {
        _databases.Clear();
        foreach (var (name, collections) in (Dictionary<string, Dictionary<string, FakeCollectionData>>)snapshot)
        {
            _databases[name] = collections;
        }
    }

    /// <summary>A deep copy made by serializing to BSON bytes and back, as a server round trip does.</summary>
    internal static BsonDocument Clone(BsonDocument document) => BsonSerializer.Deserialize<BsonDocument>(document.ToBson());
}
