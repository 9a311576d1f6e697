using Microsoft.Data.Sqlite;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>Which key the host signs this store's checkpoints with, for openings that may sign only with it
/// (<see cref="AuditOptions.SignWithHostKeyOnly"/>: the CLI's <c>nv audit checkpoint</c>, <c>archive</c>, <c>prune</c>).</summary>
/// <remarks>A checkpoint is insert-only: one signed with another key than the host's stays in the trail, and every later
/// verification with the host's keys names it as signed by a key it does not know. The host changing its key is legitimate
/// (it records the new key id at its next start); a tool doing it on its own is not.</remarks>
internal sealed partial class SqliteAuditSink
{
    // Before the writer is opened, on a read-only connection: a refused opening writes nothing (the last writable connection
    // to close would checkpoint the SQLite WAL a crashed host left into the database file). On a store of any version: a
    // table an older schema lacks means no answer from it; a store not created yet has no host key.
    private void RequireHostKey(CheckpointSigner signer)
    {
        if (!File.Exists(_path))
        {
            return;
        }

        (string KeyId, string Source)? host;
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_readConnectionString) { Pooling = false }.ToString()))
        {
            connection.Open();
            host = HostKeyId(connection);
        }

        if (host is { } recorded && !string.Equals(recorded.KeyId, signer.KeyId, StringComparison.Ordinal))
        {
            throw new AuditSigningKeyException(
                $"this process's audit signing key {signer.KeyId} is not the key the host signs {_path} with ({recorded.KeyId}, {recorded.Source}); "
                + $"set {AuditSigningKey.EnvironmentVariable} or Nv:Audit:SigningKeyPath to the host's key (a key change is made by "
                + "restarting the host with the new key, which records it)", signer.KeyId);
        }
    }

    // The signing key id the host recorded at its last start (audit_environment, written by the host's lifecycle as
    // "signingKeyId"), else the key of the newest checkpoint stored; null for a store that has neither.
    private static (string KeyId, string Source)? HostKeyId(SqliteConnection connection)
    {
        if (HasTable(connection, "audit_environment")
            && Scalar(connection, "SELECT value FROM audit_environment WHERE key = 'signingKeyId'") is string recorded)
        {
            return (recorded, "recorded at the host's last start");
        }

        if (HasTable(connection, "audit_checkpoints")
            && Scalar(connection, "SELECT text FROM audit_checkpoints ORDER BY position DESC LIMIT 1") is string text)
        {
            try
            {
                return (SignedCheckpoint.Parse(text).Checkpoint.KeyId, "the key of the store's newest checkpoint");
            }
            catch (CheckpointFormatException)
            {
                return null; // a damaged checkpoint is verification's to report
            }
        }

        return null;
    }

    private static bool HasTable(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $name";
        command.Parameters.AddWithValue("$name", table);
        return command.ExecuteScalar() is not null;
    }
}
