using Microsoft.Data.Sqlite;
using Nv.DbWriter;
using Nv.DbWriter.Sqlite;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Conformance;

/// <summary>The conformance suite against the embedded SQLite writer, one fresh temp directory per test.</summary>
public sealed class SqliteDbWriterConformanceTests : DbWriterConformanceTests
{
    private readonly TempDirectory _directory = new();

    protected override Task<IDbWriter> OpenWriterAsync() =>
        Task.FromResult(DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path }));

    /// <summary>Caps the database at its current size (<c>PRAGMA max_page_count</c>, per connection), so the first write
    /// that needs a new page fails with SQLITE_FULL, mid-batch. Works as root, unlike file permissions.</summary>
    protected override Task<IAsyncDisposable> InjectTransientFailureAsync(IDbWriter writer)
    {
        var connection = ((SqliteDbWriter)writer).Connection;
        var pages = Scalar(connection, "PRAGMA page_count");
        Scalar(connection, $"PRAGMA max_page_count={pages}");
        return Task.FromResult<IAsyncDisposable>(new Restore(connection));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class Restore(SqliteConnection connection) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            Scalar(connection, "PRAGMA max_page_count=4294967294");
            return ValueTask.CompletedTask;
        }
    }
}
