using Nv.DbWriter;

namespace Nv.Unit.Tests.DbWriter;

public sealed class DbWriterOptionsValidatorTests
{
    private static readonly DbWriterOptionsValidator Validator = new();

    [Fact]
    public void Defaults_are_valid()
    {
        Assert.True(Validator.Validate(null, new DbWriterOptions()).Succeeded);
    }

    [Theory]
    [InlineData("", "nv.db")]
    [InlineData("  ", "nv.db")]
    [InlineData("data", "")]
    [InlineData("data", "sub/nv.db")]
    [InlineData("data", "..\\nv.db")]
    [InlineData("data", "..")]
    public void SQLite_needs_a_directory_and_a_plain_file_name(string directory, string file)
    {
        var result = Validator.Validate(null, new DbWriterOptions { DataDirectory = directory, SqliteFileName = file });
        Assert.True(result.Failed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(601_000)]
    public void The_busy_timeout_must_be_positive_and_bounded(int milliseconds)
    {
        var result = Validator.Validate(null, new DbWriterOptions { SqliteBusyTimeout = TimeSpan.FromMilliseconds(milliseconds) });
        Assert.True(result.Failed);
        Assert.Contains(nameof(DbWriterOptions.SqliteBusyTimeout), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_MongoUri_must_be_a_mongodb_url_with_a_database()
    {
        Assert.True(Validator.Validate(null, new DbWriterOptions { MongoUri = "mongodb://db:27017" }).Succeeded);
        Assert.True(Validator.Validate(null, new DbWriterOptions { MongoUri = "mongodb+srv://cluster.example" }).Succeeded);
        Assert.True(Validator.Validate(null, new DbWriterOptions { MongoUri = "http://db:27017" }).Failed);
        Assert.True(Validator.Validate(null, new DbWriterOptions { MongoUri = "mongodb://db", MongoDatabase = "" }).Failed);
        Assert.True(Validator.Validate(null, new DbWriterOptions { MongoUri = "mongodb://db", MongoConnectTimeout = TimeSpan.Zero }).Failed);
    }

    [Fact]
    public void SQLite_settings_are_ignored_when_MongoDB_is_selected()
    {
        var options = new DbWriterOptions { MongoUri = "mongodb://db", DataDirectory = "", SqliteFileName = "" };
        Assert.True(Validator.Validate(null, options).Succeeded);
    }
}
