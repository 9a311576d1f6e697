using System.Buffers;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;
using Nv.Shared.Sqlite;

namespace Nv.Audit.Sqlite;

/// <summary>Opening: the signing key, pragmas, schema creation and migration (versions 1 to 3 → 4), prepared statements.</summary>
internal sealed partial class SqliteAuditSink
{
    private void InitializeCore()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_syncFault is { } fault)
        {
            throw new InvalidOperationException(
                $"The audit store {_path} stopped after a failed sync ({fault.Message}): entries appended since its last durable point may never reach the disk, "
                + "and a later sync could report them durable (Linux reports a write-back error once). Check the disk, reboot the machine (the page cache may still hold what the disk lost), "
                + "then start Nv: the WAL keeps every record the store's last durable point does not cover, and boot replay rebuilds them.", fault);
        }

        if (_initialized)
        {
            return;
        }

        // The key first: a process that may not sign with what it has (SignWithHostKeyOnly) is refused before it creates or
        // writes anything, and one that signs only with the host's key if it has it (SignWithHostKeyIfAvailable) signs
        // nothing otherwise. A read-only opening signs nothing, so it needs no private key and never generates one: the
        // public half of the host's key, when this process is given or finds it, is all its verification uses.
        CheckpointSigner? signer = null;
        SqliteConnection? writer = null;
        Statements? sql = null;
        try
        {
            if (_options.ReadOnly)
            {
                _publicKeyPem = AuditSigningKey.ResolvePublicKeyPem(_options);
            }
            else
            {
                signer = ResolveSigner();
            }

            if (!_options.ReadOnly)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            }
            else if (!File.Exists(_path))
            {
                throw new InvalidOperationException($"No audit store at {_path}: a read-only open creates nothing.");
            }

            writer = new SqliteConnection(_writeConnectionString);
            writer.Open();
            if (!_options.ReadOnly)
            {
                Execute(writer, "PRAGMA journal_mode=WAL;");
                // NORMAL: an append survives a process crash, not a power loss; Nv's WAL is the durability source, so entries
                // lost with a power cut are rebuilt from it byte for byte. MakeDurableAsync and every checkpoint signing sync.
                Execute(writer, "PRAGMA synchronous=NORMAL;");
                Execute(writer, $"PRAGMA wal_autocheckpoint={SqliteWalCheckpointer.WriterAutoCheckpointPages};");
                // After a large transaction (a bulk index build) the WAL file shrinks back to this once checkpointed, instead
                // of keeping its largest size on disk.
                Execute(writer, $"PRAGMA journal_size_limit={SqliteWalCheckpointer.JournalSizeLimitBytes};");
            }

            // Raw statements bypass Microsoft.Data.Sqlite's own busy retry loop: let SQLite wait instead.
            SQLitePCL.raw.sqlite3_busy_timeout(writer.Handle, (int)Math.Ceiling(_options.BusyTimeout.TotalMilliseconds));
            var version = Convert.ToInt32(Scalar(writer, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
            if (_options.ReadOnly && version != SqliteAuditSchema.Version)
            {
                // Older (a read-write open would migrate it) or newer: refused as it is, the CLI's bad-input exit.
                throw new StoreSchemaException("audit store", _path, version, SqliteAuditSchema.Version);
            }

            if (version > SqliteAuditSchema.Version)
            {
                throw new InvalidOperationException(
                    $"The audit store {_path} has schema version {version}; this build understands up to {SqliteAuditSchema.Version}.");
            }

            long migrated = 0;
            // A read-only opening reads the schema as it is: it was checked to be the current version above.
            if (!_options.ReadOnly)
            {
                using var transaction = writer.BeginTransaction();
                Execute(writer, SqliteAuditSchema.Create, transaction);
                if (!HasColumn(writer, transaction, "audit_entries", "encoding"))
                {
                    Execute(writer, SqliteAuditSchema.AddVersion2Columns, transaction);
                }

                Execute(writer, SqliteAuditSchema.CreateMerkle, transaction);
                Execute(writer, SqliteAuditSchema.CreateMeta, transaction);
                Execute(writer, SqliteAuditSchema.CreateRetention, transaction);
                Execute(writer, SqliteAuditSchema.CreateEnvironment, transaction);
                if (version < 4)
                {
                    // Version 4: composite indexes instead of the entity and user ones, and a delete trigger that passes
                    // only archived entries. DDL is transactional in SQLite: a crash here leaves version 3 as it was.
                    Execute(writer, SqliteAuditSchema.CreateIndexes, transaction);
                    Execute(writer, SqliteAuditSchema.ReplaceDeleteTrigger, transaction);
                }

                // Version 5 (encryption at rest): the data key id and the sealed data of each entry (NULL for plain ones).
                if (!HasColumn(writer, transaction, "audit_entries", "key_id"))
                {
                    Execute(writer, SqliteAuditSchema.AddSealedColumns, transaction);
                }

                migrated = ComputeMissingLeaves(writer, transaction);
                Execute(writer, $"PRAGMA user_version = {SqliteAuditSchema.Version};", transaction);
                transaction.Commit();
            }

            if (version is > 0 and < SqliteAuditSchema.Version)
            {
                Log.StoreMigrated(_logger, SqliteAuditSchema.Version, migrated);
            }

            sql = new Statements(writer);
            _writer = writer;
            _sql = sql;
            _auditedThrough = ReadAuditedThrough(sql);
            // What the file holds may never have been synced (the last run died before its next durable point, its frames
            // still in the page cache): the first durable point of this run syncs, whether or not it appends anything.
            _dirty = !_options.ReadOnly;
            _signer = signer;
            _initialized = true;
            if (!_options.ReadOnly)
            {
                StartCheckpointer();
            }

            Log.StoreOpened(_logger, _path, SqliteAuditSchema.Version);
        }
        catch
        {
            sql?.Dispose();
            signer?.Dispose();
            writer?.Dispose();
            throw;
        }
    }

    // Entries stored before the Merkle tree existed (schema 1) get their leaves here, from their own canonical bytes
    // (encoding version 1), so every chain has exactly one leaf per entry.
    private static long ComputeMissingLeaves(SqliteConnection writer, SqliteTransaction transaction)
    {
        var counts = new List<(string Chain, long LastSequence, long Leaves)>();
        using (var command = writer.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT e.service, MAX(e.sequence), (SELECT COUNT(*) FROM audit_merkle_leaves l WHERE l.chain = e.service) " +
                "FROM audit_entries e GROUP BY e.service";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                counts.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        long added = 0;
        var scratch = new ArrayBufferWriter<byte>(2048);
        foreach (var (chain, _, leaves) in counts.Where(c => c.Leaves < c.LastSequence))
        {
            using var select = writer.CreateCommand();
            select.Transaction = transaction;
            select.CommandText = SqliteAuditSchema.ScanChainFrom;
            select.Parameters.AddWithValue("$service", chain);
            select.Parameters.AddWithValue("$after", leaves);
            using var insert = writer.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO audit_merkle_leaves (chain, idx, hash) VALUES ($chain, $idx, $hash)";
            var pChain = insert.Parameters.Add("$chain", SqliteType.Text);
            var pIdx = insert.Parameters.Add("$idx", SqliteType.Integer);
            var pHash = insert.Parameters.Add("$hash", SqliteType.Blob);
            using var reader = select.ExecuteReader();
            var expected = leaves + 1;
            while (reader.Read())
            {
                var entry = SqliteAuditRow.Read(reader);
                if (entry.Sequence != expected)
                {
                    // A gap or a damaged row: leave it to verification; proofs for this chain will refuse to load.
                    break;
                }

                scratch.Clear();
                AuditCanonicalEncoding.Write(entry, scratch);
                pChain.Value = chain;
                pIdx.Value = entry.Sequence - 1;
                pHash.Value = MerkleHasher.HashLeaf(scratch.WrittenSpan).ToArray();
                insert.ExecuteNonQuery();
                expected++;
                added++;
            }

        }

        return added;
    }

    private static bool HasColumn(SqliteConnection connection, SqliteTransaction transaction, string table, string column)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $column";
        command.Parameters.AddWithValue("$column", column);
        return command.ExecuteScalar() is not null;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>The writer's prepared statements.</summary>
    private sealed class Statements(SqliteConnection writer) : IDisposable
    {
        public SqliteStatement Begin { get; } = new(writer, "BEGIN IMMEDIATE");

        public SqliteStatement Commit { get; } = new(writer, "COMMIT");

        public SqliteStatement Rollback { get; } = new(writer, "ROLLBACK");

        public SqliteStatement Insert { get; } = new(writer, SqliteAuditSchema.Insert);

        public SqliteStatement InsertLeaf { get; } = new(writer, SqliteAuditSchema.InsertLeaf);

        public SqliteStatement Head { get; } = new(writer, SqliteAuditSchema.Head);

        public SqliteStatement ChainLeaves { get; } = new(writer, SqliteAuditSchema.ChainLeaves);

        public SqliteStatement LatestCheckpoint { get; } = new(writer, SqliteAuditSchema.LatestCheckpoint);

        public SqliteStatement InsertCheckpoint { get; } = new(writer, SqliteAuditSchema.InsertCheckpoint);

        public SqliteStatement Chains { get; } = new(writer, SqliteAuditSchema.Chains);

        public SqliteStatement Pruned { get; } = new(writer, SqliteAuditSchema.Pruned);

        public SqliteStatement SetAuditedThrough { get; } = new(writer, SqliteAuditSchema.SetAuditedThrough);

        public SqliteStatement SetDurableThrough { get; } = new(writer, SqliteAuditSchema.SetDurableThrough);

        public SqliteStatement AuditedThrough { get; } = new(writer, SqliteAuditSchema.AuditedThrough);

        public SqliteStatement SynchronousFull { get; } = new(writer, "PRAGMA synchronous=FULL");

        public SqliteStatement SynchronousNormal { get; } = new(writer, "PRAGMA synchronous=NORMAL");

        public SqliteStatement DataVersion { get; } = new(writer, "PRAGMA data_version");

        public void Dispose()
        {
            Begin.Dispose();
            Commit.Dispose();
            Rollback.Dispose();
            Insert.Dispose();
            InsertLeaf.Dispose();
            Head.Dispose();
            ChainLeaves.Dispose();
            LatestCheckpoint.Dispose();
            InsertCheckpoint.Dispose();
            Chains.Dispose();
            Pruned.Dispose();
            SetAuditedThrough.Dispose();
            SetDurableThrough.Dispose();
            AuditedThrough.Dispose();
            SynchronousFull.Dispose();
            SynchronousNormal.Dispose();
            DataVersion.Dispose();
        }
    }
}
