using Microsoft.Extensions.Logging;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>The real <see cref="MongoDbWriter"/> over a <see cref="FakeMongoServer"/>, and record builders.</summary>
internal sealed class FakeMongoWriter : IAsyncDisposable
{
    public const string DatabaseName = "nv";

    public FakeMongoWriter(Action<DbWriterOptions>? configure = null, Func<IMongoDatabase, IMongoDatabase>? database = null, ILoggerFactory? loggerFactory = null)
    {
        var options = new DbWriterOptions { MongoUri = "mongodb://fake:27017", MongoDatabase = DatabaseName };
        configure?.Invoke(options);
        _options = options;
        var db = Server.Database(DatabaseName);
        Writer = new MongoDbWriter(options, database?.Invoke(db) ?? db, loggerFactory);
    }

    private readonly DbWriterOptions _options;

    public FakeMongoServer Server { get; } = new();

    /// <summary>A new writer on the same server, as a process restarted after a crash opens one (nothing in memory
    /// carried over).</summary>
    public MongoDbWriter Reopen() => new(_options, Server.Database(DatabaseName));

    public MongoDbWriter Writer { get; }

    public IReadOnlyList<BsonDocument> Stored(string collection) => Server.Documents(DatabaseName, collection);

    public BsonDocument? Resolution(long lsn) => Stored("_nv_resolutions").FirstOrDefault(d => d["_id"].ToInt64() == lsn);

    public static WalRecord Create(long lsn, string id, string json = "{}") => MongoCommandsTests.Record(lsn, WalOperation.Create, json, id);

    public static WalRecord Update(long lsn, string id, string json = "{}") => MongoCommandsTests.Record(lsn, WalOperation.Update, json, id);

    public static WalRecord Delete(long lsn, string id) => MongoCommandsTests.Record(lsn, WalOperation.Delete, entityId: id);

    public ValueTask DisposeAsync() => Writer.DisposeAsync();
}
