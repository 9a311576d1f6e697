namespace Nv.Audit.Sqlite;

/// <summary>DDL of the SQLite audit store (schema version 1).</summary>
/// <remarks>The service column is the hash chain's id: UNIQUE (service, sequence) makes each chain dense and
/// single-valued. <c>position</c> is the rowid alias, so it is stable (VACUUM keeps it) and records insertion
/// order, which the verifier uses to catch moved entries. Immutability is enforced inside the database by
/// triggers, so no client (including a future bug of ours) can update or delete an entry through SQL.</remarks>
internal static class SqliteAuditSchema
{
    /// <summary>The <c>PRAGMA user_version</c> this code writes and understands.</summary>
    public const int Version = 1;

    /// <summary>The message of the immutability triggers.</summary>
    public const string ImmutableMessage = "audit entries are immutable";

    /// <summary>Creates the table, indexes and triggers if missing.</summary>
    public const string Create = """
        CREATE TABLE IF NOT EXISTS audit_entries (
            position      INTEGER PRIMARY KEY,
            id            TEXT    NOT NULL UNIQUE,
            timestamp     TEXT    NOT NULL,
            service       TEXT    NOT NULL,
            category      TEXT    NOT NULL,
            operation     TEXT    NOT NULL,
            user_id       TEXT,
            dto_type      TEXT,
            entity_id     TEXT    NOT NULL,
            before_json   TEXT,
            after_json    TEXT,
            changes_json  TEXT    NOT NULL,
            reason        TEXT,
            metadata_json TEXT    NOT NULL,
            request_id    TEXT    NOT NULL,
            lsn           INTEGER,
            sequence      INTEGER NOT NULL CHECK (sequence >= 1),
            prev_hash     TEXT    NOT NULL,
            hash          TEXT    NOT NULL,
            UNIQUE (service, sequence)
        );
        CREATE INDEX IF NOT EXISTS ix_audit_entries_request_id ON audit_entries (request_id);
        CREATE INDEX IF NOT EXISTS ix_audit_entries_entity ON audit_entries (entity_id, dto_type);
        CREATE INDEX IF NOT EXISTS ix_audit_entries_user_id ON audit_entries (user_id);
        CREATE INDEX IF NOT EXISTS ix_audit_entries_timestamp ON audit_entries (timestamp, id);
        CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        """;

    /// <summary>Every stored column but <c>position</c>, in <see cref="SqliteAuditRow"/> order.</summary>
    public const string Columns =
        "id, timestamp, service, category, operation, user_id, dto_type, entity_id, before_json, after_json, " +
        "changes_json, reason, metadata_json, request_id, lsn, sequence, prev_hash, hash";

    /// <summary>Inserts one entry.</summary>
    public const string Insert =
        "INSERT INTO audit_entries (" + Columns + ") VALUES ($id, $timestamp, $service, $category, $operation, $user_id, " +
        "$dto_type, $entity_id, $before_json, $after_json, $changes_json, $reason, $metadata_json, $request_id, $lsn, " +
        "$sequence, $prev_hash, $hash)";

    /// <summary>Whether an id is stored.</summary>
    public const string Exists = "SELECT 1 FROM audit_entries WHERE id = $id";

    /// <summary>A chain's last entry.</summary>
    public const string Head = "SELECT sequence, hash FROM audit_entries WHERE service = $service ORDER BY sequence DESC LIMIT 1";

    /// <summary>Every entry in chain order, for verification (served by the (service, sequence) index).</summary>
    public const string ScanChains = "SELECT " + Columns + ", position FROM audit_entries ORDER BY service, sequence";
}
