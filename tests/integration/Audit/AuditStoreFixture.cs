using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Wal;

namespace Nv.Integration.Tests.Audit;

/// <summary>A fresh temp directory with an audit store in it, deleted on dispose.</summary>
public abstract class AuditStoreFixture : IAsyncLifetime
{
    protected AuditStoreFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "nv-audit-" + Guid.NewGuid().ToString("N"));
        Options = new AuditOptions { DataDirectory = Directory, MaxBatchSize = 64 };
        Sink = AuditSinks.OpenSqlite(Options);
    }

    protected string Directory { get; }

    protected AuditOptions Options { get; }

    protected IAuditSink Sink { get; private set; }

    protected string FilePath => Path.Combine(Directory, Options.SqliteFileName);

    public async ValueTask InitializeAsync() => await Sink.InitializeAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    protected async Task ReopenAsync()
    {
        await Sink.DisposeAsync();
        Sink = AuditSinks.OpenSqlite(Options);
        await Sink.InitializeAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>A raw connection to the audit file, bypassing the sink.</summary>
    protected SqliteConnection Raw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    protected static int Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    protected static JsonElement Json(string text) => JsonSerializer.Deserialize<JsonElement>(text);

    private static long _counter;

    protected static AuditEntry Entry(
        string service = "orders", string entityId = "o-1", DateTimeOffset? timestamp = null, string requestId = "req-1",
        string? userId = "alice", string dtoType = "Order", AuditCategory category = AuditCategory.EntityMutation, string operation = "update")
    {
        var n = Interlocked.Increment(ref _counter);
        var before = Json("""{"status":"new","n":1}""");
        var after = Json("""{"status":"paid","n":2}""");
        return new AuditEntry
        {
            Id = Guid.CreateVersion7(),
            Timestamp = timestamp ?? new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(n),
            Service = service,
            Category = category,
            Operation = operation,
            UserId = userId,
            DtoType = dtoType,
            EntityId = entityId,
            Before = before,
            After = after,
            Changes = [new FieldChange("/n", Json("1"), Json("2")), new FieldChange("/status", Json("\"new\""), Json("\"paid\""))],
            Reason = "test",
            Metadata = new Dictionary<string, string> { ["k"] = "v" },
            RequestId = requestId,
            Lsn = new Lsn(n),
        };
    }

    protected static List<AuditEntry> Entries(int count, string service = "orders") =>
        Enumerable.Range(0, count).Select(i => Entry(service, entityId: "o-" + i, requestId: "req-" + i)).ToList();
}
