namespace Nv.Audit.Sqlite;

/// <summary>DDL of the SQLite audit store (schema version 4).</summary>
/// <remarks>The service column is the hash chain's id: UNIQUE (service, sequence) makes each chain dense and
/// single-valued. <c>position</c> is the rowid alias, so it is stable (VACUUM keeps it) and records insertion
/// order, which the verifier uses to catch moved entries. Immutability is enforced inside the database by
/// triggers, so no client (including a future bug of ours) can update or delete an entry, a Merkle leaf or a
/// checkpoint through SQL. Version 2 (issue 6) adds <c>wal_record_hash</c> and <c>encoding</c> (the canonical
/// encoding version of each entry; rows written by version 1 read as encoding 1), the Merkle leaf hashes and the
/// signed checkpoints; opening a version-1 file upgrades it in place. Version 3 adds <c>audit_meta</c>. Version 4 (issue
/// 17) replaces the entity and user indexes with composite ones ending in (timestamp, id) and adds one on (category,
/// timestamp, id), so each of the three query shapes (an entity's history, a user's activity, a filtered search, by time)
/// reads one index range in order; it adds the archive records and the pruned-prefix marker of each chain, and lets the
/// delete trigger pass only entries covered by a recorded archive (<see cref="CreateRetention"/>). Every older version
/// is migrated in place when opened.</remarks>
internal static class SqliteAuditSchema
{
    /// <summary>The <c>PRAGMA user_version</c> this code writes and understands.</summary>
    /// <remarks>5: <c>key_id</c> and <c>sealed</c> (encryption at rest, issue 16), after issue 17's 4.</remarks>
    public const int Version = 5;

    /// <summary>The message of the immutability triggers.</summary>
    public const string ImmutableMessage = "audit entries are immutable";

    /// <summary>Creates the entry table (version-1 shape) and its triggers if missing; its query indexes come with
    /// <see cref="CreateIndexes"/> (every store below version 4, a new one included), not at every open, so the ones a
    /// stopped replay deferred stay deferred until its next build.</summary>
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
        CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        """;

    /// <summary>Every query index of <c>audit_entries</c> with its columns: the indexes no constraint needs, and whether a
    /// long append may defer it (see <c>SqliteAuditSink.Indexes.cs</c>); the first two since version 1.</summary>
    public static readonly (string Name, string Columns, bool Deferrable)[] QueryIndexes =
    [
        ("ix_audit_entries_request_id", "request_id", true),
        ("ix_audit_entries_timestamp", "timestamp, id", false),
        ("ix_audit_entries_entity_time", "entity_id, dto_type, timestamp, id", true),
        ("ix_audit_entries_user_time", "user_id, timestamp, id", true),
        ("ix_audit_entries_category_time", "category, timestamp, id", true),
    ];

    /// <summary>Creates a query index (one of <see cref="QueryIndexes"/>) if missing.</summary>
    public static string CreateQueryIndex((string Name, string Columns, bool Deferrable) index) =>
        $"CREATE INDEX IF NOT EXISTS {index.Name} ON audit_entries ({index.Columns});\n";

    /// <summary>The secondary indexes of version 4, one per query shape (besides <c>request_id</c> and <c>(timestamp, id)</c>):
    /// an entity's history, a user's activity and a filtered search, each in (timestamp, id) order, which is the order
    /// every query returns and pages by. They replace version 3's <c>(entity_id, dto_type)</c> and <c>(user_id)</c>
    /// indexes rather than adding to them: every index costs each append.</summary>
    public static readonly string CreateIndexes = """
        DROP INDEX IF EXISTS ix_audit_entries_entity;
        DROP INDEX IF EXISTS ix_audit_entries_user_id;
        """ + string.Concat(QueryIndexes.Select(CreateQueryIndex));

    /// <summary>Version-2 columns added to a version-1 <c>audit_entries</c> table.</summary>
    public const string AddVersion2Columns = """
        ALTER TABLE audit_entries ADD COLUMN wal_record_hash TEXT;
        ALTER TABLE audit_entries ADD COLUMN encoding INTEGER NOT NULL DEFAULT 1;
        """;

    /// <summary>Version-5 columns (encryption at rest): the data key an entry's before, after and changes are sealed under,
    /// and the sealed bytes (encoding version 3 commits to both; before_json and after_json are NULL and changes_json
    /// <c>[]</c> for a sealed entry). NULL for entries stored in plain, every earlier one included.</summary>
    public const string AddSealedColumns = """
        ALTER TABLE audit_entries ADD COLUMN key_id TEXT;
        ALTER TABLE audit_entries ADD COLUMN sealed BLOB;
        """;

    /// <summary>The Merkle leaf and checkpoint tables (version 2), if missing.</summary>
    /// <remarks><c>audit_merkle_leaves</c> holds leaf i (0-based) of each chain's tree, <c>SHA-256(0x00 || canonical
    /// bytes of the entry with sequence i + 1)</c>, so the tree is rebuilt at open without re-encoding entries.
    /// <c>audit_checkpoints</c> keeps each signed checkpoint's exact text (docs/audit-merkle.md), with its chain and
    /// size copied out for lookups.</remarks>
    public const string CreateMerkle = """
        CREATE TABLE IF NOT EXISTS audit_merkle_leaves (
            chain TEXT    NOT NULL,
            idx   INTEGER NOT NULL CHECK (idx >= 0),
            hash  BLOB    NOT NULL,
            PRIMARY KEY (chain, idx)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS audit_checkpoints (
            position INTEGER PRIMARY KEY,
            chain    TEXT    NOT NULL,
            size     INTEGER NOT NULL,
            created  TEXT    NOT NULL,
            text     TEXT    NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_audit_checkpoints_chain ON audit_checkpoints (chain, size);
        CREATE TRIGGER IF NOT EXISTS audit_merkle_leaves_no_update BEFORE UPDATE ON audit_merkle_leaves
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_merkle_leaves_no_delete BEFORE DELETE ON audit_merkle_leaves
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        """;

    /// <summary>Version 3: positions the store records about itself (<c>audited_through</c>: every applied WAL record at
    /// or below it has its entry, written in the append transaction; <c>durable_through</c>: the audited position of the
    /// last durable point; <c>durable_points</c>: how many durable points committed, see <see cref="SetDurableThrough"/>).
    /// Not immutable: they only ever tell where a backfill resumes.</summary>
    public const string CreateMeta = """
        CREATE TABLE IF NOT EXISTS audit_meta (
            key   TEXT    NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """;

    /// <summary>Version 4: retention. <c>audit_archives</c> records each archive file written by <c>nv audit archive</c>
    /// (a chain's entries <c>first_sequence..last_sequence</c>, the hash of the last one, the signed checkpoint at
    /// <c>last_sequence</c>, the file's name and SHA-256); <c>audit_pruned</c> holds, per chain, the last sequence whose
    /// entry was deleted by retention and that entry's hash, so the chain still links and every Merkle proof still works
    /// (the leaves are never deleted). Archive records are immutable; a pruned marker only moves forward. The entry delete
    /// trigger passes only entries inside a recorded archive's range: nothing else can ever be deleted.</summary>
    public const string CreateRetention = """
        CREATE TABLE IF NOT EXISTS audit_archives (
            position       INTEGER PRIMARY KEY,
            chain          TEXT    NOT NULL,
            first_sequence INTEGER NOT NULL CHECK (first_sequence >= 1),
            last_sequence  INTEGER NOT NULL,
            last_hash      TEXT    NOT NULL,
            last_timestamp TEXT    NOT NULL,
            file_name      TEXT    NOT NULL,
            file_sha256    TEXT    NOT NULL,
            checkpoint     TEXT    NOT NULL,
            created        TEXT    NOT NULL,
            CHECK (last_sequence >= first_sequence),
            UNIQUE (chain, first_sequence)
        );
        CREATE TABLE IF NOT EXISTS audit_pruned (
            chain     TEXT    NOT NULL PRIMARY KEY,
            through   INTEGER NOT NULL CHECK (through >= 1),
            last_hash TEXT    NOT NULL
        ) WITHOUT ROWID;
        CREATE TRIGGER IF NOT EXISTS audit_archives_no_update BEFORE UPDATE ON audit_archives
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_archives_no_delete BEFORE DELETE ON audit_archives
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_pruned_no_delete BEFORE DELETE ON audit_pruned
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        CREATE TRIGGER IF NOT EXISTS audit_pruned_forward_only BEFORE UPDATE ON audit_pruned
        WHEN NEW.chain IS NOT OLD.chain OR NEW.through < OLD.through
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        """;

    /// <summary>Version 4's entry delete trigger (replacing the unconditional one of versions 1 to 3).</summary>
    public const string ReplaceDeleteTrigger = """
        DROP TRIGGER IF EXISTS audit_entries_no_delete;
        CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
        WHEN NOT EXISTS (SELECT 1 FROM audit_archives a
                         WHERE a.chain = OLD.service AND OLD.sequence BETWEEN a.first_sequence AND a.last_sequence)
        BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END;
        """;

    /// <summary>Version 4: the environment the last run recorded (see <see cref="IAuditSink.GetRunEnvironmentAsync"/>).</summary>
    public const string CreateEnvironment = """
        CREATE TABLE IF NOT EXISTS audit_environment (
            key   TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """;

    /// <summary>Records the audited position (in the append transaction).</summary>
    public const string SetAuditedThrough =
        "INSERT INTO audit_meta (key, value) VALUES ('audited_through', ?1) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)";

    /// <summary>Records the audited position of a durable point, and counts the durable point.</summary>
    /// <remarks>The count makes the statement change a page every time: SQLite writes no WAL frame for a commit that changed
    /// none (an upsert of the position already stored, as after a schema change, an index build or environment rows, which
    /// move no audited position), and a <c>synchronous=FULL</c> commit without a frame syncs nothing, so the earlier
    /// NORMAL commits it stands for would stay unsynced. An upsert: stores written before the count need no migration.</remarks>
    public const string SetDurableThrough =
        "INSERT INTO audit_meta (key, value) VALUES ('durable_through', ?1), ('durable_points', 1) " +
        "ON CONFLICT (key) DO UPDATE SET value = CASE key WHEN 'durable_points' THEN value + 1 ELSE excluded.value END";

    /// <summary>The recorded audited position, if any.</summary>
    public const string AuditedThrough = "SELECT value FROM audit_meta WHERE key = 'audited_through'";

    /// <summary>Every stored entry column but <c>position</c>, in <see cref="SqliteAuditRow"/> order.</summary>
    public const string Columns =
        "id, timestamp, service, category, operation, user_id, dto_type, entity_id, before_json, after_json, " +
        "changes_json, reason, metadata_json, request_id, lsn, sequence, prev_hash, hash, wal_record_hash, encoding, key_id, sealed";

    /// <summary>Number of columns in <see cref="Columns"/>.</summary>
    public const int ColumnCount = 22;

    /// <summary>Inserts one entry unless its id is stored (then nothing changes: idempotent backfill). Only an id
    /// conflict is ignored; any other constraint failure (a chain position taken) still aborts.</summary>
    public const string Insert =
        "INSERT INTO audit_entries (" + Columns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, " +
        "?16, ?17, ?18, ?19, ?20, ?21, ?22) ON CONFLICT (id) DO NOTHING";

    /// <summary>Inserts one Merkle leaf.</summary>
    public const string InsertLeaf = "INSERT INTO audit_merkle_leaves (chain, idx, hash) VALUES (?1, ?2, ?3)";

    /// <summary>A chain's leaves in order.</summary>
    public const string ChainLeaves = "SELECT hash FROM audit_merkle_leaves WHERE chain = ?1 ORDER BY idx";

    /// <summary>Every leaf, by chain and index (verification).</summary>
    public const string AllLeaves = "SELECT chain, idx, hash FROM audit_merkle_leaves ORDER BY chain, idx";

    /// <summary>Inserts a signed checkpoint.</summary>
    public const string InsertCheckpoint = "INSERT INTO audit_checkpoints (chain, size, created, text) VALUES (?1, ?2, ?3, ?4)";

    /// <summary>A chain's newest checkpoint: the one with the largest tree size (an archive's checkpoint, signed later for
    /// an earlier size, does not replace it), the latest of those.</summary>
    public const string LatestCheckpoint = "SELECT text FROM audit_checkpoints WHERE chain = ?1 ORDER BY size DESC, position DESC LIMIT 1";

    /// <summary>Every checkpoint in storage order, chain by chain (verification).</summary>
    public const string AllCheckpoints = "SELECT position, chain, size, text FROM audit_checkpoints ORDER BY chain, position";

    /// <summary>A chain's last entry.</summary>
    public const string Head = "SELECT sequence, hash, encoding FROM audit_entries WHERE service = ?1 ORDER BY sequence DESC LIMIT 1";

    /// <summary>Every chain that has entries, or had them before retention pruned them all.</summary>
    public const string Chains = "SELECT service FROM audit_entries UNION SELECT chain FROM audit_pruned ORDER BY 1";

    /// <summary>Where a chain's pruned prefix ends (sequence, hash), if retention pruned any of it.</summary>
    public const string Pruned = "SELECT through, last_hash FROM audit_pruned WHERE chain = ?1";

    /// <summary>The entries the chains' heads account for (each chain's last sequence less its pruned prefix): verification's
    /// progress total, read from the (service, sequence) index one chain at a time (a skip scan: a few seeks per chain, not
    /// a count of the rows).</summary>
    public const string ExpectedEntries = """
        WITH RECURSIVE chains(name) AS (
            SELECT (SELECT min(service) FROM audit_entries)
            UNION ALL
            SELECT (SELECT min(service) FROM audit_entries WHERE service > name) FROM chains WHERE name IS NOT NULL)
        SELECT coalesce(sum((SELECT max(sequence) FROM audit_entries WHERE service = name)
                            - coalesce((SELECT through FROM audit_pruned WHERE chain = name), 0)), 0)
        FROM chains WHERE name IS NOT NULL
        """;

    /// <summary>Every entry in chain order, for verification (served by the (service, sequence) index).</summary>
    public const string ScanChains = "SELECT " + Columns + ", position FROM audit_entries ORDER BY service, sequence";

    /// <summary>One chain's entries from a sequence on, in chain order (leaf migration).</summary>
    public const string ScanChainFrom = "SELECT " + Columns + " FROM audit_entries WHERE service = $service AND sequence > $after ORDER BY sequence";
}
