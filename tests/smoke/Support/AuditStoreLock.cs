using Microsoft.Data.Sqlite;

namespace Nv.Smoke.Tests.Support;

/// <summary>Another process's write lock on the audit store (<c>BEGIN EXCLUSIVE</c>), so Nv's audit writes fail until it is
/// released: an audit outage, with the backfill and parking that come with it.</summary>
internal sealed class AuditStoreLock : IDisposable
{
    private readonly SqliteConnection _connection;

    public AuditStoreLock(string dataDir)
    {
        _connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "audit.db")};Pooling=False");
        _connection.Open();
        using var begin = _connection.CreateCommand();
        begin.CommandText = "BEGIN EXCLUSIVE;";
        begin.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
