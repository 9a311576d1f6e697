using System.Net;
using System.Reflection;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Servers;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>Builds the driver's own exception types, as a server's answers would produce them (their error constructors
/// are internal, so through reflection).</summary>
public static class FakeErrors
{
    public static readonly ConnectionId Connection = new(new ServerId(new ClusterId(), new DnsEndPoint("localhost", 27017)));

    public static ServerErrorCategory CategoryOf(int code) => code == 11000 ? ServerErrorCategory.DuplicateKey : ServerErrorCategory.Uncategorized;

    public static BulkWriteError BulkError(int index, int code, string message) =>
        (BulkWriteError)Activator.CreateInstance(typeof(BulkWriteError), BindingFlags.NonPublic | BindingFlags.Instance, null,
            [index, CategoryOf(code), code, message, new BsonDocument()], null)!;

    public static WriteError WriteError(int code, string message) =>
        (WriteError)Activator.CreateInstance(typeof(WriteError), BindingFlags.NonPublic | BindingFlags.Instance, null,
            [CategoryOf(code), code, message, new BsonDocument()], null)!;

    public static MongoBulkWriteException<BsonDocument> Bulk(int index, int code, string message, IEnumerable<WriteModel<BsonDocument>> unprocessed, int requestCount) =>
        new(Connection,
            new BulkWriteResult<BsonDocument>.Acknowledged(requestCount, 0, 0, 0, 0, [], []),
            [BulkError(index, code, message)], writeConcernError: null!, unprocessed);

    public static MongoWriteException Write(int code, string message) => new(Connection, WriteError(code, message), writeConcernError: null!, innerException: null!);

    /// <summary>What a lost connection gives.</summary>
    public static MongoConnectionException ConnectionLost() => new(Connection, "connection reset by peer (fake)");

    /// <summary>A replication wait that ran out of wtimeout (code 64), on an ordered bulk write.</summary>
    public static MongoBulkWriteException<BsonDocument> WriteConcernTimeout(IEnumerable<WriteModel<BsonDocument>> requests) =>
        BulkWriteConcern(64, "WriteConcernTimeout", requests);

    /// <summary>A write-concern error of <paramref name="code"/> (no write error: the write reached the primary), as the
    /// server reports it on a write.</summary>
    public static WriteConcernError WriteConcernError(int code, string codeName) =>
        (WriteConcernError)Activator.CreateInstance(typeof(WriteConcernError), BindingFlags.NonPublic | BindingFlags.Instance, null,
            [code, codeName, "write concern error (fake)", new BsonDocument(), new List<string>()], null)!;

    /// <summary>An ordered bulk write that failed only its write concern.</summary>
    public static MongoBulkWriteException<BsonDocument> BulkWriteConcern(int code, string codeName, IEnumerable<WriteModel<BsonDocument>> requests) =>
        new(Connection, new BulkWriteResult<BsonDocument>.Acknowledged(0, 0, 0, 0, 0, [], []), [], WriteConcernError(code, codeName), requests);
}
