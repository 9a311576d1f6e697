using System.Reflection;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>The driver's <see cref="IMongoDatabase"/> over a <see cref="FakeMongoServer"/> (only what Nv calls).</summary>
public class FakeMongoDatabase : DispatchProxy
{
    private FakeMongoServer _server = null!;
    private string _name = null!;
    private MongoDatabaseSettings _settings = null!;

    public static IMongoDatabase Create(FakeMongoServer server, string name, MongoDatabaseSettings settings)
    {
        var proxy = Create<IMongoDatabase, FakeMongoDatabase>();
        var fake = (FakeMongoDatabase)(object)proxy;
        fake._server = server;
        fake._name = name;
        fake._settings = settings;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        args ??= [];
        switch (targetMethod.Name)
        {
            case "get_DatabaseNamespace":
                return new DatabaseNamespace(_name);
            case "get_Settings":
                return _settings;
            case "get_Client":
                return FakeMongoClient.Create(_server);
            case "WithReadPreference":
                return With(s => s.ReadPreference = (ReadPreference)args[0]!);
            case "WithWriteConcern":
                return With(s => s.WriteConcern = (WriteConcern)args[0]!);
            case "WithReadConcern":
                return With(s => s.ReadConcern = (ReadConcern)args[0]!);
            case "GetCollection" when targetMethod.GetGenericArguments()[0] == typeof(BsonDocument):
                var settings = args.Length > 1 && args[1] is MongoCollectionSettings given ? given.Clone() : new MongoCollectionSettings();
                if (_settings.ReadPreference is not null)
                {
                    settings.ReadPreference ??= _settings.ReadPreference;
                }

                if (_settings.WriteConcern is not null)
                {
                    settings.WriteConcern ??= _settings.WriteConcern;
                }

                if (_settings.ReadConcern is not null)
                {
                    settings.ReadConcern ??= _settings.ReadConcern;
                }
                return FakeCollectionProxy.Create(_server, _name, (string)args[0]!, settings);
            case "RunCommandAsync" when args[0] is Command<BsonDocument> command:
                var rendered = command.Render(BsonSerializer.SerializerRegistry).Document;
                _server.Run(new FakeOperation("command:" + rendered.GetElement(0).Name, _name, "", _settings.ReadPreference, _settings.WriteConcern));
                return rendered.GetElement(0).Name is "hello" or "isMaster" or "ping"
                    ? Task.FromResult(_server.Hello.DeepClone().AsBsonDocument)
                    : throw new NotSupportedException($"The fake server does not run {rendered.GetElement(0).Name}.");
            case "ListCollectionNamesAsync" when args.Length == 2:
                _server.Run(new FakeOperation("listCollections", _name, "", _settings.ReadPreference, null));
                return Task.FromResult<IAsyncCursor<string>>(new FakeCursor<string>(_server.CollectionNames(_name)));
            default:
                throw new NotSupportedException($"The fake database does not implement {targetMethod}.");
        }
    }

    private IMongoDatabase With(Action<MongoDatabaseSettings> change)
    {
        var settings = _settings.Clone();
        change(settings);
        return Create(_server, _name, settings);
    }
}
