using MongoDB.Bson;
using MongoDB.Driver;

namespace Nv.Audit.Mongo;

/// <summary>Connection: parse the connection string, reach the server within the connect timeout, create the indexes.</summary>
internal sealed partial class MongoAuditSink
{
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
        return settings;
    }

    private async Task InitializeCoreAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized)
        {
            return;
        }

        var client = new MongoClient(_settings);
        try
        {
            var database = client.GetDatabase(_options.MongoDatabase);
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

            var writeConcern = hello.Contains("setName") ? WriteConcern.WMajority.With(journal: true) : new WriteConcern(1, journal: true);
            var entries = database.GetCollection<BsonDocument>(MongoAuditDocument.Collection).WithWriteConcern(writeConcern);
            await entries.Indexes.CreateManyAsync(Indexes(), cancellationToken);
            _entries = entries;
            _client = client;
            _initialized = true;
            Log.StoreOpened(_logger, Location, 1);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

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
