using Microsoft.Data.Sqlite;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>Which key the host signs this store's checkpoints with, for openings that may sign only with it
/// (<see cref="AuditOptions.SignWithHostKeyOnly"/>: the CLI's <c>nv audit checkpoint</c>, <c>archive</c>, <c>prune</c>, refused
/// without it; <see cref="AuditOptions.SignWithHostKeyIfAvailable"/>: <c>nv replay</c> and <c>nv erase</c>, which then sign
/// nothing).</summary>
/// <remarks>A checkpoint is insert-only: one signed with another key than the host's stays in the trail, and every later
/// verification with the host's keys names it as signed by a key it does not know. The host changing its key is legitimate
/// (it records the new key id at its next start); a tool doing it on its own is not.</remarks>
internal sealed partial class SqliteAuditSink
{
    // The key this opening signs with: a host's (given, in the data directory, else generated); for SignWithHostKeyOnly the
    // host's or a refusal (AuditSigningKeyException, before anything is opened for writing); for SignWithHostKeyIfAvailable
    // the host's or none (_unsignedReason says why, and nothing is signed).
    private CheckpointSigner? ResolveSigner()
    {
        if (!_options.SignWithHostKeyIfAvailable)
        {
            var signer = AuditSigningKey.Resolve(_options, _logger);
            if (_options.SignWithHostKeyOnly && HostKeyMismatch(signer) is { } mismatch)
            {
                signer.Dispose();
                throw new AuditSigningKeyException(mismatch + $"; set {AuditSigningKey.EnvironmentVariable} or Nv:Audit:SigningKeyPath to the host's key "
                    + "(a key change is made by restarting the host with the new key, which records it)", signer.KeyId);
            }

            return signer;
        }

        var found = AuditSigningKey.ResolveGiven(_options, _logger) ?? AuditSigningKey.ResolveInDataDirectory(_options, _logger);
        var reason = found is null
            ? $"it has no signing key ({AuditSigningKey.EnvironmentVariable} and Nv:Audit:SigningKeyPath are not set, "
                + $"{AuditSigningKey.GeneratedPath(_options)} does not exist) and only a host generates one"
            : HostKeyMismatch(found);
        if (reason is null)
        {
            return found;
        }

        found?.Dispose();
        _unsignedReason = reason;
        Log.SigningSkipped(_logger, _path, reason);
        return null;
    }

    // Why this signer is not the host's, or null when it is (or the store names no host key yet). Before the writer is
    // opened, on a read-only connection: a refused opening writes nothing (the last writable connection to close would
    // checkpoint the SQLite WAL a crashed host left into the database file). On a store of any version: a table an older
    // schema lacks means no answer from it; a store not created yet has no host key.
    private string? HostKeyMismatch(CheckpointSigner signer)
    {
        if (!File.Exists(_path))
        {
            return null;
        }

        (string KeyId, string Source)? host;
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_readConnectionString) { Pooling = false }.ToString()))
        {
            connection.Open();
            host = HostKeyId(connection);
        }

        return host is { } recorded && !string.Equals(recorded.KeyId, signer.KeyId, StringComparison.Ordinal)
            ? $"this process's audit signing key {signer.KeyId} is not the key the host signs {_path} with ({recorded.KeyId}, {recorded.Source})"
            : null;
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
