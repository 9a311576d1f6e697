using System.Globalization;
using Microsoft.Data.Sqlite;
using Nv.Audit.Archive;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>Recording an archive, and the archive ledger on the SQLite store (<see cref="ArchiveLedger"/>): the archive rows
/// as stored, the check that they are the ones the chain vouches for before a new archive commits to them, and what
/// recording an archive adds to its transaction (the commitment read back, and a checkpoint signed at the
/// <c>audit-archived</c> entry).</summary>
/// <remarks>Everything here runs under the writer lock, on the writer connection.</remarks>
internal sealed partial class SqliteAuditSink
{
    private const string ArchiveRowColumns =
        "chain, first_sequence, last_sequence, last_hash, last_timestamp, file_name, file_sha256, checkpoint, created";

    // The checkpoint, the archive's record and an audit-archived entry of the chain, in one synced transaction. The entry
    // commits to every archive row of the chain, this one included (the archive ledger), and a checkpoint is signed at it.
    private async Task RecordArchiveAsync(AuditArchiveInfo info, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            // Checked again: the rows may have changed while the file was written (the lock is not held meanwhile).
            var (rows, unverified) = RequireVouchedArchiveRows(info.Chain);
            var expectedFirst = rows.Count == 0 ? 1 : rows[^1].LastSequence + 1;
            if (info.FirstSequence != expectedFirst)
            {
                throw new InvalidOperationException(
                    $"The archive of entries {info.FirstSequence}..{info.LastSequence} no longer follows the chain's last archive (next: {expectedFirst}); run it again.");
            }

            var row = new ArchiveRow
            {
                Chain = info.Chain,
                FirstSequence = info.FirstSequence,
                LastSequence = info.LastSequence,
                LastHash = info.LastHash,
                LastTimestamp = AuditCanonicalEncoding.FormatTimestamp(info.LastTimestamp),
                FileName = info.FilePath,
                FileSha256 = info.FileSha256,
                Checkpoint = info.Checkpoint.ToText(),
                Created = info.Created.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            };
            rows.Add(row);
            var metadata = new Dictionary<string, string>
            {
                ["firstSequence"] = Number(info.FirstSequence),
                ["lastSequence"] = Number(info.LastSequence),
                ["file"] = info.FilePath,
                ["sha256"] = info.FileSha256,
                ["root"] = info.Checkpoint.Checkpoint.RootHash.ToHex(),
            };
            foreach (var (key, value) in ArchiveLedger.Metadata(rows))
            {
                metadata[key] = value;
            }

            var entry = AuditEntryFactory.SystemEvent(info.Chain, ArchiveLedgerCheck.ArchivedOperation, "audit",
                $"entries {info.FirstSequence}..{info.LastSequence} archived to {Path.GetFileName(info.FilePath)}", metadata, _time);
            AppendChunk([entry], 0, 1, null, () =>
            {
                var checkpoint = _sql!.InsertCheckpoint;
                checkpoint.Bind(1, info.Chain);
                checkpoint.Bind(2, info.LastSequence);
                checkpoint.Bind(3, info.Checkpoint.Checkpoint.Timestamp.ToString(Checkpoint.TimestampFormat, CultureInfo.InvariantCulture));
                checkpoint.Bind(4, info.Checkpoint.ToText());
                checkpoint.Execute();
                InsertArchiveRow(row);
                CommitArchiveLedger(info.Chain, metadata[ArchiveLedger.DigestKey]);
            }, synced: true);
            if (unverified > 0)
            {
                Log.ArchiveLedgerTookInUnverifiedRows(_logger, info.Chain, unverified);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    // A new commitment covers every row of the chain from then on, so the rows it takes in must be the ones the chain already
    // vouches for (or, before the ledger, the ones its last audit-archived entry records): otherwise a row forged with plain
    // SQL would become part of the trail. Returns the rows, and how many of them no commitment covers yet (recorded
    // before the ledger: the new commitment takes them in as they are, which the caller logs).
    private (List<ArchiveRow> Rows, long Unverified) RequireVouchedArchiveRows(string chain)
    {
        var rows = ReadArchiveRows(chain);
        var finding = ArchiveLedgerCheck.Check(rows, NewestArchivedEntry(chain), LargestCheckpointSize(chain));
        if (finding.Reason is { } reason)
        {
            throw new AuditChainBrokenException(chain, finding.Sequence ?? 0, reason + "; nothing was archived, run nv audit verify");
        }

        return (rows, finding.UnverifiedRows);
    }

    // Inside the transaction that records an archive, after its row and its audit-archived entry are inserted: the rows as
    // stored must hash to what the entry commits to (another process may have recorded one in between), and a checkpoint is
    // signed at the entry, so the commitment is covered by a signature from the moment it exists (verification requires
    // that of every entry carrying a commitment: a forger can append an entry, not sign one).
    private void CommitArchiveLedger(string chain, string committedDigest)
    {
        if (!string.Equals(ArchiveLedger.Digest(ReadArchiveRows(chain)), committedDigest, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"The archive rows of chain '{chain}' changed while an archive was recorded; nothing was recorded, run it again.");
        }

        var (state, leaf) = _newLeaves[^1];
        var size = _pending[chain].Sequence;
        var tree = new ArchiveTree(size - 1, state.Tree.GetFrontier(size - 1)); // the chain's tree does not hold the entry until commit
        tree.Append(leaf);
        var signed = Signer.Sign(chain, size, tree.Root, _time.GetUtcNow());
        var insert = _sql!.InsertCheckpoint;
        insert.Bind(1, chain);
        insert.Bind(2, size);
        insert.Bind(3, signed.Checkpoint.Timestamp.ToString(Checkpoint.TimestampFormat, CultureInfo.InvariantCulture));
        insert.Bind(4, signed.ToText());
        insert.Execute();
        // A rollback clears every cached chain state, so this never outlives a transaction that did not commit.
        state.Latest = signed;
        state.LastCheckpointAt = signed.Checkpoint.Timestamp;
        Log.CheckpointSigned(_logger, chain, size, signed.Checkpoint.RootHash.ToHex());
    }

    private void InsertArchiveRow(ArchiveRow row)
    {
        using var archive = _writer!.CreateCommand();
        archive.CommandText = "INSERT INTO audit_archives (" + ArchiveRowColumns + ") " +
            "VALUES ($chain, $first, $last, $hash, $timestamp, $file, $sha, $checkpoint, $created)";
        archive.Parameters.AddWithValue("$chain", row.Chain);
        archive.Parameters.AddWithValue("$first", row.FirstSequence);
        archive.Parameters.AddWithValue("$last", row.LastSequence);
        archive.Parameters.AddWithValue("$hash", row.LastHash);
        archive.Parameters.AddWithValue("$timestamp", row.LastTimestamp);
        archive.Parameters.AddWithValue("$file", row.FileName);
        archive.Parameters.AddWithValue("$sha", row.FileSha256);
        archive.Parameters.AddWithValue("$checkpoint", row.Checkpoint);
        archive.Parameters.AddWithValue("$created", row.Created);
        archive.ExecuteNonQuery();
    }

    private List<ArchiveRow> ReadArchiveRows(string chain)
    {
        using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT " + ArchiveRowColumns + " FROM audit_archives WHERE chain = $chain ORDER BY first_sequence";
        command.Parameters.AddWithValue("$chain", chain);
        using var reader = command.ExecuteReader();
        var rows = new List<ArchiveRow>();
        while (reader.Read())
        {
            rows.Add(ReadArchiveRow(reader));
        }

        return rows;
    }

    // Every archive row, chain by chain in range order (verification, inside its snapshot).
    private static async Task<Dictionary<string, List<ArchiveRow>>> ReadAllArchiveRowsAsync(
        SqliteConnection connection, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, List<ArchiveRow>>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + ArchiveRowColumns + " FROM audit_archives ORDER BY chain, first_sequence";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = ReadArchiveRow(reader);
            if (!rows.TryGetValue(row.Chain, out var chain))
            {
                rows[row.Chain] = chain = [];
            }

            chain.Add(row);
        }

        return rows;
    }

    private static ArchiveRow ReadArchiveRow(SqliteDataReader reader) => new()
    {
        Chain = reader.GetString(0),
        FirstSequence = reader.GetInt64(1),
        LastSequence = reader.GetInt64(2),
        LastHash = reader.GetString(3),
        LastTimestamp = reader.GetString(4),
        FileName = reader.GetString(5),
        FileSha256 = reader.GetString(6),
        Checkpoint = reader.GetString(7),
        Created = reader.GetString(8),
    };

    private ArchiveLedgerCheck.ArchivedEntry? NewestArchivedEntry(string chain)
    {
        using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT " + SqliteAuditSchema.Columns + " FROM audit_entries WHERE service = $chain AND operation = $operation " +
            "AND category = $category AND lsn IS NULL ORDER BY sequence DESC LIMIT 1";
        command.Parameters.AddWithValue("$chain", chain);
        command.Parameters.AddWithValue("$operation", ArchiveLedgerCheck.ArchivedOperation);
        command.Parameters.AddWithValue("$category", AuditCategoryNames.ToName(AuditCategory.SystemEvents));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var entry = SqliteAuditRow.Read(reader);
        return new ArchiveLedgerCheck.ArchivedEntry(entry.Sequence, entry.Metadata);
    }

    private long LargestCheckpointSize(string chain)
    {
        using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT max(size) FROM audit_checkpoints WHERE chain = $chain";
        command.Parameters.AddWithValue("$chain", chain);
        return command.ExecuteScalar() is long size ? size : 0;
    }
}
