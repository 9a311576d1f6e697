using MongoDB.Bson;
using MongoDB.Driver;

namespace Nv.Audit.Mongo;

/// <summary>Connection: parse the connection string, reach the server within the connect timeout, create the indexes.</summary>
/// <remarks>Every operation is bounded as the MongoDB writer's are: server selection and connecting by the connect
/// timeout, the pool wait and the write concern's <c>wtimeout</c> and reads' <c>maxTimeMS</c> by the operation timeout,
/// sockets by the operation timeout plus 10 s. Reads go to the primary (a chain head read from a lagging secondary would
/// link new entries to an old head; the unique (service, sequence) index would then refuse them).</remarks>
internal sealed partial class MongoAuditSink
{
    private static readonly TimeSpan SocketMargin = TimeSpan.FromSeconds(10);

    private static MongoClientSettings Settings(AuditOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.MongoUri))
        {
            throw new ArgumentException($"{AuditOptions.SectionName}:MongoUri (NV_MONGO_URI) is empty.", nameof(options));
        }

        MongoUrl url;
        try
        {
            url = MongoUrl.Create(options.MongoUri);
        }
        catch (Exception ex) when (ex is MongoConfigurationException or FormatException or ArgumentException)
        {
            // The driver may quote the connection string, which can hold a password: never repeat it.
            var message = FirstLine(ex.Message).Replace(options.MongoUri, "(connection string)", StringComparison.Ordinal);
            throw new ArgumentException(
                $"{AuditOptions.SectionName}:MongoUri (NV_MONGO_URI) is not a valid MongoDB connection string: {message}", nameof(options));
        }

        var settings = MongoClientSettings.FromUrl(url);
        settings.ServerSelectionTimeout = options.MongoConnectTimeout;
        settings.ConnectTimeout = options.MongoConnectTimeout;
        settings.WaitQueueTimeout = options.MongoOperationTimeout;
        settings.SocketTimeout = options.MongoOperationTimeout + SocketMargin;
        settings.ReadPreference = ReadPreference.Primary;
        return settings;
    }

    /// <summary>The write concern of every insert: always journaled; with <c>auto</c>, <c>w:majority</c> when the server is
    /// a replica set member (<c>setName</c>) or a mongos (<c>msg: "isdbgrid"</c>: every shard is a replica set), else
    /// <c>w:1</c>; the configured value otherwise. <paramref name="timeout"/> is the <c>wtimeout</c>.</summary>
    internal static WriteConcern WriteConcernFor(BsonDocument hello, string? configured, TimeSpan timeout)
    {
        var replicated = hello.Contains("setName") || hello.GetValue("msg", BsonNull.Value) is BsonString { Value: "isdbgrid" };
        WriteConcern.WValue w = string.IsNullOrWhiteSpace(configured) || configured == "auto"
            ? (replicated ? WriteConcern.WMajority.W : 1)
            : WriteConcern.WValue.Parse(configured);
        return new WriteConcern(w, wTimeout: timeout, journal: true);
    }

    private async Task InitializeCoreAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized)
        {
            return;
        }

        var client = _injectedDatabase is null ? new MongoClient(_settings) : null;
        try
        {
            var database = _injectedDatabase ?? client!.GetDatabase(_options.MongoDatabase);
            BsonDocument hello;
            try
            {
                hello = await database.RunCommandAsync<BsonDocument>(new BsonDocument("hello", 1), cancellationToken: cancellationToken);
            }
            catch (Exception ex) when (ex is MongoException or TimeoutException)
            {
                throw new InvalidOperationException(
                    $"MongoDB audit store at {Location} could not be reached within {_options.MongoConnectTimeout.TotalSeconds:0.###} s " +
                    $"(Nv:Audit:MongoConnectTimeout): {FirstLine(ex.Message)}", ex);
            }

            var writeConcern = WriteConcernFor(hello, _options.MongoWriteConcern, _options.MongoOperationTimeout);
            var entries = database.WithReadPreference(ReadPreference.Primary).WithWriteConcern(writeConcern)
                .GetCollection<BsonDocument>(MongoAuditDocument.Collection);
            if (!_options.ReadOnly)
            {
                await entries.Indexes.CreateManyAsync(Indexes(), cancellationToken); // a read-only opening creates nothing
            }

            _entries = entries;
            _client = client;
            _initialized = true;
            Log.StoreOpened(_logger, Location, 2);
        }
        catch
        {
            client?.Dispose();
            throw;
        }
    }

    /// <summary>A find bounded by the operation timeout on the server (<c>maxTimeMS</c>).</summary>
    private FindOptions FindOptions() => new() { MaxTime = _options.MongoOperationTimeout };

    /// <summary>The chain index (unique: a chain never forks) and the query indexes: requestId, entity, service,
    /// timestamp, userId; each ends with the keyset order where the query pages by it.</summary>
    internal static IEnumerable<CreateIndexModel<BsonDocument>> Indexes() =>
    [
        new(new BsonDocument { { "service", 1 }, { "sequence", 1 } }, new CreateIndexOptions { Name = "service_sequence", Unique = true }),
        new(new BsonDocument("requestId", 1), new CreateIndexOptions { Name = "requestId" }),
        new(new BsonDocument { { "entityId", 1 }, { "dtoType", 1 } }, new CreateIndexOptions { Name = "entityId_dtoType" }),
        new(new BsonDocument { { "service", 1 }, { "timestamp", 1 }, { "_id", 1 } }, new CreateIndexOptions { Name = "service_timestamp" }),
        new(new BsonDocument { { "timestamp", 1 }, { "_id", 1 } }, new CreateIndexOptions { Name = "timestamp" }),
        new(new BsonDocument("userId", 1), new CreateIndexOptions { Name = "userId" }),
    ];

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
