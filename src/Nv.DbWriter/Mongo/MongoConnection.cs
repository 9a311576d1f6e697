using MongoDB.Bson;
using MongoDB.Driver;

namespace Nv.DbWriter.Mongo;

/// <summary>Builds the client from the connection string and checks, within the connect timeout, that a server answers.</summary>
/// <remarks>Messages name the hosts and database but never the connection string, which may hold a password.</remarks>
internal static class MongoConnection
{
    /// <summary>Parses <paramref name="uri"/> and builds client settings whose server selection and connect timeouts are
    /// <paramref name="connectTimeout"/>, so an unreachable server fails an operation in that time instead of 30 s.</summary>
    /// <exception cref="ArgumentException">The connection string is malformed (one-line message, no secrets).</exception>
    public static MongoClientSettings Settings(string? uri, TimeSpan connectTimeout, string optionName)
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
        return settings;
    }

    /// <summary>The hosts of a connection string, for messages.</summary>
    public static string Describe(MongoClientSettings settings) => string.Join(",", settings.Servers.Select(s => s.ToString()));

    /// <summary>Pings the server (<c>hello</c>) and says whether it is a replica set member (then writes use
    /// <c>w:majority</c>).</summary>
    /// <exception cref="DbWriterException">No server answered within the connect timeout (transient), or it refused.</exception>
    public static async Task<bool> ProbeAsync(IMongoDatabase database, MongoClientSettings settings, CancellationToken cancellationToken)
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

        return hello.Contains("setName");
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
