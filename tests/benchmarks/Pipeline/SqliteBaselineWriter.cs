using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Nv.Benchmarks.Pipeline;

/// <summary>One request's work in the SQLite baselines, inside the caller's transaction: read the before image, upsert
/// the entity, insert the audit row. The three statements are prepared once and reused, as a careful service would.</summary>
internal sealed class SqliteBaselineWriter : IDisposable
{
    private readonly SqliteCommand _read;
    private readonly SqliteCommand _upsert;
    private readonly SqliteCommand _audit;

    public SqliteBaselineWriter(SqliteConnection connection)
    {
        _read = Prepare(connection, "SELECT doc FROM entity WHERE id = $id", "$id");
        _upsert = Prepare(connection,
            "INSERT INTO entity(id, doc, version) VALUES ($id, $doc, 1) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, version = version + 1",
            "$id", "$doc");
        _audit = Prepare(connection,
            "INSERT INTO audit(ts, entity_id, op, before, after, request_id) VALUES ($ts, $id, $op, $before, $doc, $rid)",
            "$ts", "$id", "$op", "$before", "$doc", "$rid");
    }

    public void Write(SqliteTransaction transaction, string id, string doc, string requestId)
    {
        _read.Transaction = _upsert.Transaction = _audit.Transaction = transaction;
        _read.Parameters["$id"].Value = id;
        var before = _read.ExecuteScalar() as string;
        _upsert.Parameters["$id"].Value = id;
        _upsert.Parameters["$doc"].Value = doc;
        _upsert.ExecuteNonQuery();
        _audit.Parameters["$ts"].Value = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        _audit.Parameters["$id"].Value = id;
        _audit.Parameters["$op"].Value = before is null ? "create" : "update";
        _audit.Parameters["$before"].Value = (object?)before ?? DBNull.Value;
        _audit.Parameters["$doc"].Value = doc;
        _audit.Parameters["$rid"].Value = requestId;
        _audit.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _read.Dispose();
        _upsert.Dispose();
        _audit.Dispose();
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter(name, null));
        }

        command.Prepare();
        return command;
    }
}
