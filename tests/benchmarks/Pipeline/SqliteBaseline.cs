using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Benchmarks.Support;

namespace Nv.Benchmarks.Pipeline;

/// <summary>What a service would write without Nv: per request, one SQLite transaction (WAL journal, synchronous=FULL)
/// that reads the before image, upserts the entity and inserts an audit row. Callers share one connection (SQLite has
/// one writer), which is this baseline's best case.</summary>
internal static class SqliteBaseline
{
    public static async Task<LatencyRecorder.Result> MeasureAsync(int callers, int seconds, JsonElement payload)
    {
        using var dir = new BenchDirectory("baseline");
        using var connection = Open(dir.Path);
        using var writer = new SqliteBaselineWriter(connection);
        var doc = payload.GetRawText();
        using var gate = new SemaphoreSlim(1, 1);
        var result = await ClosedLoop.RunAsync(callers, seconds, async (c, i) =>
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"c{c}-{i / 2}");
            await gate.WaitAsync();
            try
            {
                using var tx = connection.BeginTransaction();
                writer.Write(tx, id, doc, string.Create(CultureInfo.InvariantCulture, $"c{c}-{i}"));
                tx.Commit();
            }
            finally
            {
                gate.Release();
            }
        });
        SqliteConnection.ClearAllPools();
        return result;
    }

    /// <summary>Opens a new baseline database (WAL journal, synchronous=FULL) with its entity and audit tables.</summary>
    internal static SqliteConnection Open(string directory)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(directory, "baseline.db")};Pooling=False");
        connection.Open();
        Exec(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        Exec(connection, "CREATE TABLE entity(id TEXT PRIMARY KEY, doc TEXT NOT NULL, version INTEGER NOT NULL);" +
            "CREATE TABLE audit(id INTEGER PRIMARY KEY, ts TEXT NOT NULL, entity_id TEXT NOT NULL, op TEXT NOT NULL, before TEXT, after TEXT, request_id TEXT NOT NULL);");
        return connection;
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
