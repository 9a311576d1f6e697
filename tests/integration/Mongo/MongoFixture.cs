using MongoDB.Bson;
using MongoDB.Driver;
using Testcontainers.MongoDb;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The MongoDB server of the "mongo" test collection: a Testcontainers container when a Docker engine answers,
/// else the server named by <c>NV_TEST_MONGO_URI</c>; with neither, every Mongo test is skipped with the reason.</summary>
/// <remarks>If <c>NV_TEST_MONGO_URI</c> is set but the server does not answer, the tests fail (a configured server that is
/// down is a broken CI, not a missing feature). Each test class uses its own database, named after the class.</remarks>
public sealed class MongoFixture : IAsyncLifetime
{
    public const string UriVariable = "NV_TEST_MONGO_URI";
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private MongoDbContainer? _container;
    private string? _uri;
    private string? _skipReason;
    private string? _failure;

    public async ValueTask InitializeAsync()
    {
        string? dockerProblem = null;
        if (DockerEngineMayAnswer())
        {
            try
            {
                _container = new MongoDbBuilder("mongo:8.0").WithReplicaSet("rs0").Build();
                await _container.StartAsync();
                _uri = _container.GetConnectionString();
                return;
            }
            catch (Exception ex)
            {
                dockerProblem = $"the Docker engine did not start a MongoDB container ({ex.GetType().Name}: {FirstLine(ex.Message)})";
                if (_container is not null)
                {
                    await _container.DisposeAsync();
                    _container = null;
                }
            }
        }

        var configured = Environment.GetEnvironmentVariable(UriVariable);
        if (string.IsNullOrWhiteSpace(configured))
        {
            _skipReason = $"No MongoDB server: {dockerProblem ?? "no Docker engine answers (no DOCKER_HOST, no /var/run/docker.sock)"} " +
                $"and {UriVariable} is not set. Run with a Docker engine, or {UriVariable}=mongodb://host:27017 ./build.sh test.";
            return;
        }

        try
        {
            var settings = MongoClientSettings.FromConnectionString(configured);
            settings.ServerSelectionTimeout = ConnectTimeout;
            using var client = new MongoClient(settings);
            await client.GetDatabase("admin").RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1));
            _uri = configured;
        }
        catch (Exception ex)
        {
            _failure = $"{UriVariable} is set but the server did not answer within {ConnectTimeout.TotalSeconds} s: {FirstLine(ex.Message)}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    /// <summary>The server's connection string; skips the calling test (with the reason) when there is no server, and
    /// fails it when the configured server is down.</summary>
    public string RequireServer()
    {
        if (_failure is not null)
        {
            Assert.Fail(_failure);
        }

        if (_uri is null)
        {
            Assert.Skip(_skipReason ?? "No MongoDB server.");
        }

        return _uri;
    }

    /// <summary>The database of a test class: its name, shortened to MongoDB's limit.</summary>
    public static string DatabaseFor(Type testClass)
    {
        var name = "nv_" + testClass.Name;
        return name.Length <= 60 ? name : name[..60];
    }

    /// <summary>Drops a test class's database, so each test starts from an empty store.</summary>
    public async Task DropAsync(string database, CancellationToken cancellationToken)
    {
        var settings = MongoClientSettings.FromConnectionString(RequireServer());
        settings.ServerSelectionTimeout = ConnectTimeout;
        using var client = new MongoClient(settings);
        await client.DropDatabaseAsync(database, cancellationToken);
    }

    private static bool DockerEngineMayAnswer() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")) || File.Exists("/var/run/docker.sock");

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
