using System.Reflection;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>Index creation on a fake collection: records the names and enforces unique keys.</summary>
public class FakeIndexManager : DispatchProxy
{
    private static readonly RenderArgs<BsonDocument> Args = new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);
    private FakeMongoServer _server = null!;
    private string _database = null!;
    private string _name = null!;

    internal static IMongoIndexManager<BsonDocument> Create(FakeMongoServer server, string database, string name, FakeCollectionProxy owner)
    {
        var proxy = Create<IMongoIndexManager<BsonDocument>, FakeIndexManager>();
        var fake = (FakeIndexManager)(object)proxy;
        fake._server = server;
        fake._database = database;
        fake._name = name;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        args ??= [];
        switch (targetMethod.Name)
        {
            case "CreateOneAsync" when args[0] is CreateIndexModel<BsonDocument> model:
                return Task.FromResult(CreateAll([model]).Single());
            case "CreateManyAsync" when args[0] is IEnumerable<CreateIndexModel<BsonDocument>> models:
                return Task.FromResult<IEnumerable<string>>(CreateAll(models));
            case "get_CollectionNamespace":
                return new CollectionNamespace(_database, _name);
            default:
                throw new NotSupportedException($"The fake index manager does not implement {targetMethod}.");
        }
    }

    private List<string> CreateAll(IEnumerable<CreateIndexModel<BsonDocument>> models)
    {
        _server.Run(new FakeOperation("createIndex", _database, _name, null, null));
        var data = _server.Collection(_database, _name, create: true)!;
        var names = new List<string>();
        foreach (var model in models)
        {
            var keys = model.Keys.Render(Args);
            var name = model.Options?.Name ?? string.Join("_", keys.Names);
            if (!data.IndexNames.Contains(name))
            {
                data.IndexNames.Add(name);
                if (model.Options?.Unique == true)
                {
                    data.UniqueIndexes.Add(keys);
                }
            }

            names.Add(name);
        }

        return names;
    }
}
