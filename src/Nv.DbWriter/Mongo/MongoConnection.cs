using MongoDB.Bson;
using MongoDB.Driver;

namespace Nv.DbWriter.Mongo;

/// <summary>Builds the client from the connection string and checks, within the connect timeout, that a server answers.</summary>
/// <remarks>Messages name the hosts and database but never the connection string, which may hold a password.
/// Every operation is bounded (MongoDB.Driver 3.14 keeps the client-side operation timeout, <c>timeoutMS</c>, internal):
/// server selection and connecting by the connect timeout; waiting for a pooled connection by the operation timeout;
/// replication waits by <c>wtimeout</c> and reads by <c>maxTimeMS</c>, both the operation timeout, so the server answers
/// with a transient error first; and any socket read or write by the operation timeout plus <see cref="SocketMargin"/>
/// (a hung server or network), which the driver reports as a connection error.</remarks>
internal static class MongoConnection
{
    /// <summary>How much longer than the operation timeout a socket may stay silent: the server's own timeout error
    /// (wtimeout, maxTimeMS) should arrive first.</summary>
    public static readonly TimeSpan SocketMargin = TimeSpan.FromSeconds(10);

    /// <summary>Parses <paramref name="uri"/> and builds client settings whose server selection and connect timeouts are
    /// <paramref name="connectTimeout"/> (an unreachable server fails an operation in that time instead of 30 s), and
    /// whose pool wait and socket timeouts follow <paramref name="operationTimeout"/>. Reads go to the primary whatever
    /// the connection string says (the writer decides from what it reads).</summary>
    /// <exception cref="ArgumentException">The connection string is malformed (one-line message, no secrets).</exception>
    public static MongoClientSettings Settings(string? uri, TimeSpan connectTimeout, TimeSpan operationTimeout, string optionName)
    {
        if (string.IsNullOrWhiteSpace(uri))
        {
            throw new ArgumentException($"{optionName} (NV_MONGO_URI) is empty.", nameof(uri));
        }

        MongoUrl url;
        try
        {
            url = MongoUrl.Create(uri);
        }
        catch (Exception ex) when (ex is MongoConfigurationException or FormatException or ArgumentException)
        {
            throw new ArgumentException(
                $"{optionName} (NV_MONGO_URI) is not a valid MongoDB connection string: {Redact(FirstLine(ex.Message), uri)}", nameof(uri));
        }

        var settings = MongoClientSettings.FromUrl(url);
        settings.ServerSelectionTimeout = connectTimeout;
        settings.ConnectTimeout = connectTimeout;
        settings.WaitQueueTimeout = operationTimeout;
        settings.SocketTimeout = operationTimeout + SocketMargin;
        settings.ReadPreference = ReadPreference.Primary;
        return settings;
    }

    /// <summary>The writer's view of its database: reads from the primary (a secondary may be behind the writes the
    /// writer decides from), writes with <paramref name="writeConcern"/>. Every collection taken from it inherits both.</summary>
    public static IMongoDatabase ForWriter(IMongoDatabase database, WriteConcern writeConcern) =>
        database.WithReadPreference(ReadPreference.Primary).WithWriteConcern(writeConcern);

    /// <summary>What the server is, from its <c>hello</c> answer.</summary>
    public static MongoTopology TopologyOf(BsonDocument hello) =>
        hello.Contains("setName") ? MongoTopology.ReplicaSet
        : hello.GetValue("msg", BsonNull.Value) is BsonString { Value: "isdbgrid" } ? MongoTopology.Sharded
        : MongoTopology.Standalone;

    /// <summary>The hosts of a connection string, for messages.</summary>
    public static string Describe(MongoClientSettings settings) => string.Join(",", settings.Servers.Select(s => s.ToString()));

    /// <summary>Pings the server (<c>hello</c>) and says what it is (a replica set member or a mongos: then writes use
    /// <c>w:majority</c> by default).</summary>
    /// <exception cref="DbWriterException">No server answered within the connect timeout (transient), or it refused.</exception>
    public static async Task<MongoTopology> ProbeAsync(IMongoDatabase database, MongoClientSettings settings, CancellationToken cancellationToken)
    {
        BsonDocument hello;
        try
        {
            hello = await database.RunCommandAsync<BsonDocument>(new BsonDocument("hello", 1), cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            throw new DbWriterException(
                $"MongoDB at {Describe(settings)} (database '{database.DatabaseNamespace.DatabaseName}') could not be reached within " +
                $"{settings.ServerSelectionTimeout.TotalSeconds:0.###} s (Nv:DbWriter:MongoConnectTimeout): {FirstLine(ex.Message)}",
                isTransient: MongoErrors.IsTransient(ex), innerException: ex);
        }

        return TopologyOf(hello);
    }

    /// <summary>The driver quotes the connection string in some messages; it may hold a password.</summary>
    public static string Redact(string message, string? uri) =>
        string.IsNullOrEmpty(uri) ? message : message.Replace(uri, "(connection string)", StringComparison.Ordinal);

    public static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
