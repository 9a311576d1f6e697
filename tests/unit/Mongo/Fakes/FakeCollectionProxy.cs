using System.Reflection;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>The driver's <see cref="IMongoCollection{TDocument}"/> of BSON documents over a <see cref="FakeMongoServer"/>:
/// find (filter, sort, limit, projection), distinct (of strings), estimatedDocumentCount, insertOne, insertMany, bulkWrite (updateOne with upsert), updateOne, replaceOne,
/// deleteOne, deleteMany and index creation; each also inside a <see cref="FakeSession"/>'s transaction.</summary>
public class FakeCollectionProxy : DispatchProxy
{
    private const int MaxBsonObjectSize = 16 * 1024 * 1024;
    private static readonly RenderArgs<BsonDocument> Args = new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);

    private FakeMongoServer _server = null!;
    private string _database = null!;
    private string _name = null!;
    private MongoCollectionSettings _settings = null!;

    public static IMongoCollection<BsonDocument> Create(FakeMongoServer server, string database, string name, MongoCollectionSettings settings)
    {
        var proxy = Create<IMongoCollection<BsonDocument>, FakeCollectionProxy>();
        var fake = (FakeCollectionProxy)(object)proxy;
        fake._server = server;
        fake._database = database;
        fake._name = name;
        fake._settings = settings;
        return proxy;
    }

    private FakeCollectionData Data => _server.Collection(_database, _name, create: true)!;

    private FakeOperation Op(string kind) => new(kind, _database, _name, _settings.ReadPreference, _settings.WriteConcern);

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        args ??= [];
        if (args.Length > 0 && args[0] is IClientSessionHandle)
        {
            // Inside a transaction of a FakeSession: the same operation, undone by its abort (see FakeSession).
            args = args[1..];
        }

        return targetMethod.Name switch
        {
            "get_CollectionNamespace" => new CollectionNamespace(_database, _name),
            "get_Settings" => _settings,
            "get_DocumentSerializer" => BsonDocumentSerializer.Instance,
            "get_Database" => FakeMongoDatabase.Create(_server, _database, new MongoDatabaseSettings()),
            "get_Indexes" => FakeIndexManager.Create(_server, _database, _name, this),
            "WithReadPreference" => With(s => s.ReadPreference = (ReadPreference)args[0]!),
            "WithWriteConcern" => With(s => s.WriteConcern = (WriteConcern)args[0]!),
            "WithReadConcern" => With(s => s.ReadConcern = (ReadConcern)args[0]!),
            "FindAsync" when targetMethod.GetGenericArguments()[0] == typeof(BsonDocument) =>
                Async<IAsyncCursor<BsonDocument>>(() => new FakeCursor<BsonDocument>(Find((FilterDefinition<BsonDocument>)args[0]!, (FindOptions<BsonDocument, BsonDocument>?)args[1]))),
            "DistinctAsync" when targetMethod.GetGenericArguments()[0] == typeof(string) =>
                Async<IAsyncCursor<string>>(() => new FakeCursor<string>(Distinct((FieldDefinition<BsonDocument, string>)args[0]!, (FilterDefinition<BsonDocument>)args[1]!))),
            "EstimatedDocumentCountAsync" => Async<long>(() => Count()),
            "InsertManyAsync" => Async(() => InsertMany((IEnumerable<BsonDocument>)args[0]!)),
            "InsertOneAsync" when args[0] is BsonDocument document => Async(() => InsertOne(document)),
            "BulkWriteAsync" => Async<BulkWriteResult<BsonDocument>>(() => BulkWrite((IEnumerable<WriteModel<BsonDocument>>)args[0]!)),
            "UpdateOneAsync" when args[1] is UpdateDefinition<BsonDocument> update =>
                Async<UpdateResult>(() => UpdateOne((FilterDefinition<BsonDocument>)args[0]!, update, (args[2] as UpdateOptions)?.IsUpsert == true)),
            "UpdateManyAsync" when args[1] is UpdateDefinition<BsonDocument> update =>
                Async<UpdateResult>(() => UpdateMany((FilterDefinition<BsonDocument>)args[0]!, update)),
            "ReplaceOneAsync" when args[1] is BsonDocument replacement && args[2] is ReplaceOptions or null =>
                Async<ReplaceOneResult>(() => ReplaceOne((FilterDefinition<BsonDocument>)args[0]!, replacement, (args[2] as ReplaceOptions)?.IsUpsert == true)),
            "DeleteOneAsync" => Async<DeleteResult>(() => Delete((FilterDefinition<BsonDocument>)args[0]!, many: false)),
            "AggregateToCollectionAsync" when args[0] is PipelineDefinition<BsonDocument, BsonDocument> pipeline => Async<bool>(() => AggregateToCollection(pipeline)),
            "DeleteManyAsync" => Async<DeleteResult>(() => Delete((FilterDefinition<BsonDocument>)args[0]!, many: true)),
            _ => throw new NotSupportedException($"The fake collection does not implement {targetMethod}."),
        };
    }

    private static Task<T> Async<T>(Func<T> run)
    {
        try
        {
            return Task.FromResult(run());
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(ex);
        }
    }

    private IMongoCollection<BsonDocument> With(Action<MongoCollectionSettings> change)
    {
        var settings = _settings.Clone();
        change(settings);
        return Create(_server, _database, _name, settings);
    }

    private static BsonDocument Render(FilterDefinition<BsonDocument> filter) => filter.Render(Args);

    private List<BsonDocument> Find(FilterDefinition<BsonDocument> filter, FindOptions<BsonDocument, BsonDocument>? options)
    {
        _server.Run(Op("find") with { MaxTime = options?.MaxTime });
        var rendered = Render(filter);
        var sort = options?.Sort?.Render(Args);
        var projection = options?.Projection?.Render(new RenderArgs<BsonDocument>(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry)).Document;
        IEnumerable<BsonDocument> found = BsonQuery.Sort(Data.Documents.Where(d => BsonQuery.Matches(d, rendered)), sort);
        if (options?.Skip is { } skip)
        {
            found = found.Skip(skip);
        }

        if (options?.Limit is { } limit and > 0)
        {
            found = found.Take(limit);
        }

        return [.. found.Select(d => BsonQuery.Project(FakeMongoServer.Clone(d), projection))];
    }

    /// <summary>The distinct string values of a field among the matching documents (others are skipped), in order of first appearance.</summary>
    private List<string> Distinct(FieldDefinition<BsonDocument, string> field, FilterDefinition<BsonDocument> filter)
    {
        _server.Run(Op("distinct"));
        var name = field.Render(Args).FieldName;
        var rendered = Render(filter);
        return [.. Data.Documents.Where(d => BsonQuery.Matches(d, rendered)).Select(d => BsonQuery.Get(d, name)).OfType<BsonString>()
            .Select(v => v.Value).Distinct(StringComparer.Ordinal)];
    }

    // The collection's size from its metadata: exact here, as on a MongoDB server shut down cleanly.
    private long Count()
    {
        _server.Run(Op("count"));
        return Data.Documents.Count;
    }

    private InsertManyResultStub InsertMany(IEnumerable<BsonDocument> documents)
    {
        var list = documents.ToList();
        _server.Run(Op("insert"));
        for (var i = 0; i < list.Count; i++)
        {
            try
            {
                var document = FakeMongoServer.Clone(list[i]);
                if (!document.Contains("_id"))
                {
                    document.InsertAt(0, new BsonElement("_id", ObjectId.GenerateNewId()));
                }

                Store(document, insert: true);
            }
            catch (FakeWriteError error)
            {
                throw FakeErrors.Bulk(i, error.Code, error.Message, list.Skip(i + 1).Select(d => new InsertOneModel<BsonDocument>(d)), list.Count);
            }
        }

        _server.Ran(Op("insert"));
        return new InsertManyResultStub();
    }

    // A single insert's error is a MongoWriteException (the driver's answer for insertOne), not a bulk one.
    private InsertManyResultStub InsertOne(BsonDocument document)
    {
        _server.Run(Op("insert"));
        try
        {
            var copy = FakeMongoServer.Clone(document);
            if (!copy.Contains("_id"))
            {
                copy.InsertAt(0, new BsonElement("_id", ObjectId.GenerateNewId()));
            }

            Store(copy, insert: true);
        }
        catch (FakeWriteError error)
        {
            throw FakeErrors.Write(error.Code, error.Message);
        }

        _server.Ran(Op("insert"));
        return new InsertManyResultStub();
    }

    private BulkWriteResult<BsonDocument> BulkWrite(IEnumerable<WriteModel<BsonDocument>> requests)
    {
        var list = requests.ToList();
        _server.Run(Op("bulk"));
        long matched = 0;
        for (var i = 0; i < list.Count; i++)
        {
            try
            {
                matched += list[i] switch
                {
                    UpdateOneModel<BsonDocument> u => Update(Render(u.Filter), u.Update.Render(Args).AsBsonDocument, u.IsUpsert, many: false).Matched,
                    UpdateManyModel<BsonDocument> m => Update(Render(m.Filter), m.Update.Render(Args).AsBsonDocument, m.IsUpsert, many: true).Matched,
                    ReplaceOneModel<BsonDocument> r => ReplaceOne(r.Filter, r.Replacement, r.IsUpsert).MatchedCount,
                    DeleteOneModel<BsonDocument> d => Delete(d.Filter, many: false).DeletedCount,
                    _ => throw new NotSupportedException($"The fake bulk write does not run {list[i].GetType().Name}."),
                };
            }
            catch (FakeWriteError error)
            {
                throw FakeErrors.Bulk(i, error.Code, error.Message, list.Skip(i + 1), list.Count);
            }
        }

        _server.Ran(Op("bulk"));
        return new BulkWriteResult<BsonDocument>.Acknowledged(list.Count, matched, 0, 0, matched, list, []);
    }

    private UpdateResult.Acknowledged UpdateOne(FilterDefinition<BsonDocument> filter, UpdateDefinition<BsonDocument> update, bool upsert)
    {
        _server.Run(Op("update"));
        (long Matched, BsonValue? UpsertedId) result;
        try
        {
            result = Update(Render(filter), update.Render(Args).AsBsonDocument, upsert, many: false);
        }
        catch (FakeWriteError error)
        {
            throw FakeErrors.Write(error.Code, error.Message);
        }

        _server.Ran(Op("update"));
        return new UpdateResult.Acknowledged(result.Matched, result.Matched, result.UpsertedId!);
    }

    private UpdateResult.Acknowledged UpdateMany(FilterDefinition<BsonDocument> filter, UpdateDefinition<BsonDocument> update)
    {
        _server.Run(Op("updateMany"));
        var matched = Update(Render(filter), update.Render(Args).AsBsonDocument, upsert: false, many: true).Matched;
        _server.Ran(Op("updateMany"));
        return new UpdateResult.Acknowledged(matched, matched, null!);
    }

    /// <summary>Runs one update; returns the number of matched documents and the id of an upserted one.</summary>
    private (long Matched, BsonValue? UpsertedId) Update(BsonDocument filter, BsonDocument update, bool upsert, bool many)
    {
        var matches = Data.Documents.Where(d => BsonQuery.Matches(d, filter)).ToList();
        if (matches.Count == 0)
        {
            if (!upsert)
            {
                return (0, null);
            }

            var seed = BsonQuery.Seed(filter);
            BsonQuery.Update(seed, update, inserting: true);
            if (!seed.Contains("_id"))
            {
                seed.InsertAt(0, new BsonElement("_id", ObjectId.GenerateNewId()));
            }

            Store(seed, insert: true);
            return (0, seed["_id"]);
        }

        foreach (var match in many ? matches : matches.Take(1))
        {
            var changed = FakeMongoServer.Clone(match);
            BsonQuery.Update(changed, update, inserting: false);
            Store(changed, insert: false);
        }

        return (many ? matches.Count : 1, null);
    }

    private ReplaceOneResult.Acknowledged ReplaceOne(FilterDefinition<BsonDocument> filter, BsonDocument replacement, bool upsert)
    {
        _server.Run(Op("replace"));
        var rendered = Render(filter);
        var match = Data.Documents.FirstOrDefault(d => BsonQuery.Matches(d, rendered));
        var document = FakeMongoServer.Clone(replacement);
        try
        {
            if (match is null && !upsert)
            {
                return new ReplaceOneResult.Acknowledged(0, 0, null!);
            }

            if (match is not null)
            {
                document["_id"] = match["_id"];
            }
            else if (!document.Contains("_id"))
            {
                document.InsertAt(0, BsonQuery.Seed(rendered).GetElement("_id"));
            }

            Store(document, insert: match is null);
        }
        catch (FakeWriteError error)
        {
            throw FakeErrors.Write(error.Code, error.Message);
        }

        _server.Ran(Op("replace"));
        return new ReplaceOneResult.Acknowledged(match is null ? 0 : 1, match is null ? 0 : 1, match is null ? document["_id"] : null!);
    }

    private DeleteResult.Acknowledged Delete(FilterDefinition<BsonDocument> filter, bool many)
    {
        _server.Run(Op(many ? "deleteMany" : "delete"));
        var rendered = Render(filter);
        var matches = Data.Documents.Where(d => BsonQuery.Matches(d, rendered)).ToList();
        var deleted = 0;
        foreach (var match in many ? matches : matches.Take(1))
        {
            Data.Documents.Remove(match);
            deleted++;
        }

        _server.Ran(Op(many ? "deleteMany" : "delete"));
        return new DeleteResult.Acknowledged(deleted);
    }

    /// <summary>Only the case the writer's one-time migration meets on a fresh database: the first $match selects nothing.</summary>
    private bool AggregateToCollection(PipelineDefinition<BsonDocument, BsonDocument> pipeline)
    {
        _server.Run(Op("aggregate"));
        var stages = pipeline.Render(Args).Documents;
        var match = stages.Count > 0 && stages[0].GetElement(0).Name == "$match" ? stages[0][0].AsBsonDocument : [];
        return Data.Documents.Any(d => BsonQuery.Matches(d, match))
            ? throw new NotSupportedException("The fake server runs an aggregation only when its first $match selects nothing.")
            : true;
    }

    /// <summary>Stores a new or changed document after the server's checks: size, the test's refusals, unique keys.</summary>
    private void Store(BsonDocument document, bool insert)
    {
        var bytes = document.ToBson(); // the driver's serializer: nesting beyond 100 levels fails here, as it would on send
        if (bytes.Length > MaxBsonObjectSize)
        {
            throw new FakeWriteError(10334, $"BSONObj size: {bytes.Length} is invalid. Size must be between 0 and 16793600(16MB)");
        }

        if (_server.RefuseDocument?.Invoke(_name, document) is { } refusal)
        {
            throw new FakeWriteError(refusal.Code, refusal.Message);
        }

        var at = Data.IndexOf(document["_id"]);
        if (insert && at >= 0)
        {
            throw new FakeWriteError(11000, $"E11000 duplicate key error collection: {_database}.{_name} index: _id_ dup key: {{ _id: {document["_id"]} }}");
        }

        foreach (var keys in Data.UniqueIndexes)
        {
            var key = keys.Names.Select(n => BsonQuery.Get(document, n) ?? BsonNull.Value).ToList();
            if (Data.Documents.Any(d => !d["_id"].Equals(document["_id"])
                    && keys.Names.Select(n => BsonQuery.Get(d, n) ?? BsonNull.Value).SequenceEqual(key)))
            {
                throw new FakeWriteError(11000, $"E11000 duplicate key error collection: {_database}.{_name} unique index {keys}");
            }
        }

        Data.Replace(document);
    }

    /// <summary>InsertManyAsync returns a plain Task; this is its (ignored) result.</summary>
    private sealed class InsertManyResultStub;
}
