using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.DbWriter.Sqlite;
using Nv.Integration.Tests.Support;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Sqlite;

public sealed class DbWriterRegistrationTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        return services;
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddNvDbWriter_without_a_MongoUri_registers_the_SQLite_writer()
    {
        var services = Services().AddNvDbWriter(o => o.DataDirectory = _directory.Path);
        await using var provider = services.BuildServiceProvider();

        var writer = provider.GetRequiredService<IDbWriter>();
        Assert.IsType<SqliteDbWriter>(writer);
        Assert.Same(writer, provider.GetRequiredService<IDbWriter>());
        await writer.InitializeAsync(Ct);
        var result = Assert.Single(await writer.ApplyAsync([Create(1, "o1", "{}")], Ct));
        Assert.Equal(ApplyStatus.Applied, result.Status);
        Assert.True(File.Exists(Path.Combine(_directory.Path, "nv.db")));
    }

    [Fact]
    public async Task AddNvDbWriter_with_a_MongoUri_selects_the_Mongo_writer()
    {
        var services = Services().AddNvDbWriter(o => o.MongoUri = "mongodb://localhost:27017");
        await using var provider = services.BuildServiceProvider();

        // Resolving connects nothing yet: the server is reached by InitializeAsync (tests/unit/Mongo/MongoSelectionTests).
        Assert.IsType<Nv.DbWriter.Mongo.MongoDbWriter>(provider.GetRequiredService<IDbWriter>());
    }

    [Fact]
    public async Task AddNvDbWriter_validates_the_options()
    {
        var services = Services().AddNvDbWriter(o => o.SqliteFileName = "../escape.db");
        await using var provider = services.BuildServiceProvider();

        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<DbWriterOptions>>().Value);
    }

    [Fact]
    public void OpenSqlite_refuses_invalid_options()
    {
        Assert.Throws<ArgumentException>(() => DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = " " }));
    }
}
