using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Nv.Audit.Sqlite;

/// <summary>The read-only open (<see cref="AuditOptions.ReadOnly"/>): no writer connection, no schema work, no signer; the
/// recorded position is read once and queries use the read-only connection string (<c>Nv.Shared.Sqlite.SqliteReadOnly</c>).</summary>
internal sealed partial class SqliteAuditSink
{
    // Under _gate.
    private void InitializeReadOnly()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized)
        {
            return;
        }

        if (!File.Exists(_path))
        {
            throw new InvalidOperationException($"No audit store at {_path}: a read-only open creates nothing.");
        }

        using var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (version != SqliteAuditSchema.Version)
        {
            throw new InvalidOperationException(
                $"The audit store {_path} has schema version {version}; a read-only open reads version {SqliteAuditSchema.Version} only and migrates nothing "
                + "(open it read-write once: start the host or run nv replay).");
        }

        command.CommandText = SqliteAuditSchema.AuditedThrough;
        _auditedThrough = command.ExecuteScalar() is long through ? through : null;
        _initialized = true;
    }

    private void ThrowIfReadOnly()
    {
        if (_options.ReadOnly)
        {
            throw new InvalidOperationException($"The audit store {_path} was opened read-only (Nv:Audit:ReadOnly): it cannot be written to.");
        }
    }
}
