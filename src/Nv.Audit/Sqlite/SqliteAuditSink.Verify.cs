using Microsoft.Data.Sqlite;
using Nv.Audit.Archive;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>Verification: streams the whole table in chain order through <see cref="AuditChainVerifier"/>, rebuilds each
/// chain's Merkle tree from the entries, then checks every stored checkpoint (signature, size, root), the optional
/// external checkpoint, the archive rows against the chains' archive ledger, and the stored Merkle leaves against the
/// recomputed ones.</summary>
/// <remarks>Nothing cached by the writer is trusted: leaves are recomputed from the entries' canonical bytes. The order of
/// the checks decides what is reported first: a broken chain, then a checkpoint the entries no longer match (which is
/// how deleting the newest entries, or rewriting history with recomputed hashes, shows), then damaged derived data.</remarks>
internal sealed partial class SqliteAuditSink
{
    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) => VerifyAsync(null, null, cancellationToken);

    public Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, CancellationToken cancellationToken = default) =>
        VerifyAsync(options, null, cancellationToken);

    public async Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default)
    {
        // The keys given (--public-key), else the store's own: none at all when a read-only opening was given no key and
        // found none; every checkpoint is then reported as signed by a key this verification does not know, not as forged.
        using var keyVerifier = options?.PublicKeyPem is { } given
            ? CheckpointVerifier.FromPublicKeyPem(given)
            : CheckpointVerifier.Trusting(await GetTrustedPublicKeysPemAsync(cancellationToken));
        var trees = new Dictionary<string, MerkleTree>(StringComparer.Ordinal);
        await using var connection = await OpenReaderAsync(cancellationToken);

        // Every check reads one snapshot: in WAL mode each statement outside a transaction reads its own, so on a live store
        // an append between the entry scan and the leaf scan showed as a forged leaf, a checkpoint signed in between as
        // deleted entries, a prune in between as a gap. A deferred read transaction (no write lock); the connection's
        // commands join it (CreateCommand), and disposing it rolls it back, whatever happened.
        using var snapshot = connection.BeginTransaction(deferred: true);
        var reporter = new AuditProgressReporter(progress, ProgressInterval);
        return await VerifySnapshotAsync(connection, keyVerifier, options, trees, reporter, cancellationToken);
    }

    private async Task<AuditVerification> VerifySnapshotAsync(SqliteConnection connection, CheckpointVerifier keyVerifier, AuditVerifyOptions? options,
        Dictionary<string, MerkleTree> trees, AuditProgressReporter progress, CancellationToken cancellationToken)
    {
        // Chains pruned by retention start after their marker, linking to its hash, with the kept leaves of the pruned prefix.
        var (pruned, prunedProblem) = await LoadPrunedAsync(connection, trees, cancellationToken);
        var verifier = new AuditChainVerifier(pruned);
        var newestArchived = new Dictionary<string, ArchiveLedgerCheck.ArchivedEntry>(StringComparer.Ordinal);
        var result = prunedProblem
            ?? await VerifyEntriesAsync(connection, verifier, trees, newestArchived, progress, cancellationToken)
            ?? await VerifyCheckpointsAsync(connection, keyVerifier, trees, verifier.EntriesChecked, progress, cancellationToken);
        if (result.IsValid)
        {
            // After the chains and checkpoints: the audit-archived entries the archive rows are checked against are then
            // known to be in verified chains.
            result = await VerifyArchivesAsync(connection, pruned, newestArchived, result, cancellationToken);
        }
        if (result.IsValid && options?.FromCheckpoint is { } external)
        {
            result = CheckpointChecks.VerifyExternal(external, keyVerifier, trees, result);
        }

        if (result.IsValid)
        {
            result = await VerifyLeavesAsync(connection, trees, result, progress, cancellationToken);
        }

        Log.Verified(_logger, result);
        return result;
    }

    // Returns the failure, or null when every chain links (the trees then hold every chain's recomputed leaves).
    // Also notes each chain's newest audit-archived entry (the archive ledger's commitment).
    private static async Task<AuditVerification?> VerifyEntriesAsync(SqliteConnection connection, AuditChainVerifier verifier,
        Dictionary<string, MerkleTree> trees, Dictionary<string, ArchiveLedgerCheck.ArchivedEntry> newestArchived, AuditProgressReporter progress,
        CancellationToken cancellationToken)
    {
        // The total costs a few index seeks per chain, and only when someone listens. A phase cut short by an exception
        // (cancellation) reports no end.
        progress.Begin(AuditProgressPhase.VerifyEntries,
            progress.IsActive ? await CountAsync(connection, SqliteAuditSchema.ExpectedEntries, cancellationToken) : null);
        var failure = await ScanEntriesAsync(connection, verifier, trees, newestArchived, progress, cancellationToken);
        progress.End(verifier.EntriesChecked);
        return failure;
    }

    private static async Task<AuditVerification?> ScanEntriesAsync(SqliteConnection connection, AuditChainVerifier verifier,
        Dictionary<string, MerkleTree> trees, Dictionary<string, ArchiveLedgerCheck.ArchivedEntry> newestArchived, AuditProgressReporter progress,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = SqliteAuditSchema.ScanChains;
        // One row at a time: only the 32-byte leaf hashes are kept.
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        const int positionOrdinal = SqliteAuditSchema.ColumnCount;
        MerkleTree? tree = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            AuditEntry entry;
            try
            {
                entry = SqliteAuditRow.Read(reader);
            }
            catch (FormatException ex)
            {
                return new AuditVerification
                {
                    IsValid = false,
                    EntriesChecked = verifier.EntriesChecked + 1,
                    BrokenChain = reader.IsDBNull(2) ? "?" : reader.GetString(2),
                    BrokenSequence = reader.IsDBNull(15) ? 0 : reader.GetInt64(15),
                    Reason = "entry edited: " + ex.Message,
                };
            }

            if (!verifier.Add(entry, reader.GetInt64(positionOrdinal)))
            {
                return verifier.ToResult();
            }

            if (!trees.TryGetValue(entry.Service, out tree))
            {
                tree = new MerkleTree();
                trees[entry.Service] = tree;
            }

            tree.Append(verifier.LastLeafHash);
            if (ArchiveLedgerCheck.IsArchivedEntry(entry))
            {
                newestArchived[entry.Service] = new ArchiveLedgerCheck.ArchivedEntry(entry.Sequence, entry.Metadata);
            }

            progress.Advance(verifier.EntriesChecked);
        }

        return null;
    }

    private static async Task<AuditVerification> VerifyCheckpointsAsync(
        SqliteConnection connection, CheckpointVerifier keyVerifier, Dictionary<string, MerkleTree> trees, long entries,
        AuditProgressReporter progress, CancellationToken cancellationToken)
    {
        progress.Begin(AuditProgressPhase.VerifyCheckpoints,
            progress.IsActive ? await CountAsync(connection, "SELECT count(*) FROM audit_checkpoints", cancellationToken) : null);
        var result = await ScanCheckpointsAsync(connection, keyVerifier, trees, entries, progress, cancellationToken);
        progress.End(result.CheckpointsChecked);
        return result;
    }

    private static async Task<AuditVerification> ScanCheckpointsAsync(
        SqliteConnection connection, CheckpointVerifier keyVerifier, Dictionary<string, MerkleTree> trees, long entries,
        AuditProgressReporter progress, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = SqliteAuditSchema.AllCheckpoints;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        long checkedCount = 0;
        string? chain = null;
        long lastGoodSize = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var position = reader.GetInt64(0);
            var storedChain = reader.GetString(1);
            var storedSize = reader.GetInt64(2);
            if (!string.Equals(storedChain, chain, StringComparison.Ordinal))
            {
                chain = storedChain;
                lastGoodSize = 0;
            }

            checkedCount++;
            AuditVerification Broken(long? sequence, string reason) => new()
            {
                IsValid = false,
                EntriesChecked = entries,
                CheckpointsChecked = checkedCount,
                BrokenChain = storedChain,
                BrokenSequence = sequence,
                BrokenCheckpointSize = storedSize,
                Reason = reason,
            };

            SignedCheckpoint signed;
            try
            {
                signed = SignedCheckpoint.Parse(reader.GetString(3));
            }
            catch (CheckpointFormatException ex)
            {
                return Broken(null, $"stored checkpoint #{position} (size {storedSize}) is malformed: {ex.Message}");
            }

            var checkpoint = signed.Checkpoint;
            if (checkpoint.ChainId != storedChain || checkpoint.TreeSize != storedSize)
            {
                return Broken(null, $"stored checkpoint #{position}: its columns (chain {storedChain}, size {storedSize}) do not match its " +
                    $"signed text (chain {checkpoint.ChainId}, size {checkpoint.TreeSize}) (checkpoint edited)");
            }

            var signature = keyVerifier.Verify(signed);
            if (signature.Failure == CheckpointFailure.KeyMismatch)
            {
                return Broken(null, CheckpointChecks.UnknownKey(checkpoint, signature)) with { UnknownKeyId = checkpoint.KeyId };
            }

            if (!signature.IsValid)
            {
                return Broken(null, $"checkpoint at size {storedSize} ({checkpoint.Timestamp:O}): signature does not verify " +
                    $"({signature.Failure}: {signature.Reason}) (checkpoint forged or altered)");
            }

            var failure = CheckpointChecks.CompareWithTree(checkpoint, trees.GetValueOrDefault(storedChain), lastGoodSize);
            if (failure is not null)
            {
                return Broken(failure.Value.Sequence, failure.Value.Reason);
            }

            lastGoodSize = Math.Max(lastGoodSize, storedSize);
            progress.Advance(checkedCount);
        }

        return new AuditVerification { IsValid = true, EntriesChecked = entries, CheckpointsChecked = checkedCount };
    }

    private static async Task<AuditVerification> VerifyLeavesAsync(
        SqliteConnection connection, Dictionary<string, MerkleTree> trees, AuditVerification soFar, AuditProgressReporter progress,
        CancellationToken cancellationToken)
    {
        progress.Begin(AuditProgressPhase.VerifyLeaves, trees.Values.Sum(static t => t.Size));
        var result = await ScanLeavesAsync(connection, trees, soFar, progress, cancellationToken);
        progress.End();
        return result;
    }

    private static async Task<AuditVerification> ScanLeavesAsync(SqliteConnection connection, Dictionary<string, MerkleTree> trees,
        AuditVerification soFar, AuditProgressReporter progress, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = SqliteAuditSchema.AllLeaves;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        string? chain = null;
        long expected = 0;
        long leaves = 0;
        MerkleTree? tree = null;
        AuditVerification Broken(string name, long sequence, string reason) =>
            soFar with { IsValid = false, BrokenChain = name, BrokenSequence = sequence, Reason = reason };

        AuditVerification? EndOfChain() =>
            chain is not null && expected < (tree?.Size ?? 0)
                ? Broken(chain, expected + 1, $"Merkle leaf {expected} (sequence {expected + 1}) is missing from the leaf table (leaves deleted)")
                : null;

        while (await reader.ReadAsync(cancellationToken))
        {
            var name = reader.GetString(0);
            if (!string.Equals(name, chain, StringComparison.Ordinal))
            {
                if (EndOfChain() is { } missing)
                {
                    return missing;
                }

                chain = name;
                expected = 0;
                tree = trees.GetValueOrDefault(name);
            }

            var index = reader.GetInt64(1);
            var bytes = (byte[])reader.GetValue(2);
            if (index != expected)
            {
                return Broken(name, expected + 1, $"Merkle leaf {expected} (sequence {expected + 1}) is missing from the leaf table (leaves deleted)");
            }

            if (tree is null || index >= tree.Size)
            {
                return Broken(name, index + 1, $"Merkle leaf {index} has no entry (sequence {index + 1} deleted, or leaf forged)");
            }

            if (bytes.Length != MerkleHash.Size || MerkleHash.FromBytes(bytes) != tree.GetLeaf(index))
            {
                return Broken(name, index + 1, $"stored Merkle leaf {index} does not match entry {index + 1} (leaf table altered)");
            }

            expected++;
            progress.Advance(++leaves);
        }

        if (EndOfChain() is { } last)
        {
            return last;
        }

        foreach (var (name, t) in trees)
        {
            if (t.Size > 0 && !await HasLeavesAsync(connection, name, cancellationToken))
            {
                return Broken(name, 1, "the chain has no Merkle leaves (leaf table emptied)");
            }
        }

        return soFar;
    }

    private static async Task<long> CountAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken) is long count ? count : 0;
    }

    private static async Task<bool> HasLeavesAsync(SqliteConnection connection, string chain, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM audit_merkle_leaves WHERE chain = $chain LIMIT 1";
        command.Parameters.AddWithValue("$chain", chain);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }
}
