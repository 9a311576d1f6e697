using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.Audit.Sqlite;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.DbWriter.Sqlite;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo;

/// <summary>NV_MONGO_URI selects MongoDB for state and audit; a bad or unreachable server fails start with one clear line.</summary>
public sealed class MongoSelectionTests
{
    // Port 1 on loopback: nothing listens, so the connection is refused at once and server selection waits out the timeout.
    private const string Unreachable = "mongodb://127.0.0.1:1/?directConnection=true";

    private static ServiceProvider Provider(string? uri) => new ServiceCollection()
        .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
        .AddNvDbWriter(o => { o.MongoUri = uri; o.DataDirectory = Path.GetTempPath(); })
        .AddNvAudit(o => { o.MongoUri = uri; o.DataDirectory = Path.GetTempPath(); })
        .BuildServiceProvider();

    [Fact]
    public async Task A_mongo_uri_selects_the_mongo_writer_and_sink()
    {
        await using var provider = Provider(Unreachable);
        Assert.IsType<MongoDbWriter>(provider.GetRequiredService<IDbWriter>());
        Assert.IsType<MongoAuditSink>(provider.GetRequiredService<IAuditSink>());
    }

    [Fact]
    public async Task No_mongo_uri_selects_sqlite()
    {
        await using var provider = Provider(null);
        Assert.IsType<SqliteDbWriter>(provider.GetRequiredService<IDbWriter>());
        Assert.IsType<SqliteAuditSink>(provider.GetRequiredService<IAuditSink>());
    }

    [Theory]
    [InlineData("mongodb://")]
    [InlineData("mongodb://user:s3cret@db:notaport/")]
    [InlineData("postgres://db/")]
    public void A_malformed_uri_fails_validation_with_one_line_and_no_password(string uri)
    {
        var provider = Provider(uri);
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<DbWriterOptions>>().Value);
        Assert.Contains("MongoUri", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);

        var direct = Assert.Throws<ArgumentException>(() => new MongoDbWriter(new DbWriterOptions { MongoUri = uri }));
        Assert.DoesNotContain("s3cret", direct.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new MongoAuditSink(new AuditOptions { MongoUri = uri }));
    }

    [Fact]
    public void A_replica_set_uri_with_several_hosts_is_valid()
    {
        var validator = new DbWriterOptionsValidator();
        Assert.True(validator.Validate(null, new DbWriterOptions { MongoUri = "mongodb://a:27017,b:27017,c:27017/?replicaSet=rs0&w=majority" }).Succeeded);
    }

    [Fact]
    public async Task An_unreachable_server_fails_start_within_the_connect_timeout_with_one_line()
    {
        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<DbWriterException>(() => MongoDbWriters.OpenAsync(
            new DbWriterOptions { MongoUri = Unreachable, MongoConnectTimeout = TimeSpan.FromSeconds(1) },
            cancellationToken: TestContext.Current.CancellationToken));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(20));
        Assert.Contains("could not be reached within 1 s", ex.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.True(ex.IsTransient);

        var audit = await Assert.ThrowsAsync<InvalidOperationException>(() => MongoAuditSinks.OpenAsync(
            new AuditOptions { MongoUri = Unreachable, MongoConnectTimeout = TimeSpan.FromSeconds(1) },
            cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("could not be reached within 1 s", audit.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', audit.Message);
    }

    [Theory]
    [InlineData("""{"$set":{"admin":true}}""")]
    [InlineData("""{"profile":{"a.b":1}}""")]
    public void The_writer_refuses_unsafe_keys_before_sending_anything(string json)
    {
        // The server is unreachable: a refusal (not a connection timeout) proves nothing was sent. The pipeline turns it
        // into a 400 before the WAL append; a record that reaches ApplyAsync anyway is rejected (Unstorable).
        var writer = new MongoDbWriter(new DbWriterOptions { MongoUri = Unreachable, MongoConnectTimeout = TimeSpan.FromSeconds(30) });
        var record = MongoCommandsTests.Record(1, WalOperation.Create, json);
        var clock = Stopwatch.StartNew();
        var refusal = writer.CheckStorable(record.DtoType, record.Payload);
        Assert.NotNull(refusal);
        Assert.Contains("cannot be stored in MongoDB", refusal.Reason, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Hostile_dto_types_are_refused_as_collection_names()
    {
        await using var writer = new MongoDbWriter(new DbWriterOptions { MongoUri = Unreachable });
        Assert.NotNull(writer.CheckStorable("system.users", System.Text.Json.JsonDocument.Parse("{}").RootElement));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.GetAsync("$cmd", "x", TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.GetAsync("audit_entries", "x", TestContext.Current.CancellationToken));
    }
}
