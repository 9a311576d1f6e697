using System.Globalization;
using Microsoft.Data.Sqlite;
using Nv.Audit.Archive;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>Verification of archives and of a trail that retention pruned: each pruned chain starts after its marker (linking
/// to the kept hash) with the kept leaf hashes of its pruned prefix in its tree, so every stored checkpoint still checks
/// against the recomputed root; every pruned entry must lie in a recorded archive whose end the marker's hash agrees with;
/// and the archive rows must be the ones the chain's newest <c>audit-archived</c> entry commits to (<see cref="ArchiveLedgerCheck"/>),
/// since a row is what lets entries be deleted.</summary>
internal sealed partial class SqliteAuditSink
{
    private static async Task<(Dictionary<string, (long Sequence, string Hash)> Pruned, AuditVerification? Problem)> LoadPrunedAsync(
        SqliteConnection connection, Dictionary<string, MerkleTree> trees, CancellationToken cancellationToken)
    {
        var pruned = new Dictionary<string, (long, string)>(StringComparer.Ordinal);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT chain, through, last_hash FROM audit_pruned ORDER BY chain";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                pruned[reader.GetString(0)] = (reader.GetInt64(1), reader.GetString(2));
            }
        }

        foreach (var (chain, (through, _)) in pruned)
        {
            var tree = new MerkleTree();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT idx, hash FROM audit_merkle_leaves WHERE chain = $chain AND idx < $through ORDER BY idx";
            command.Parameters.AddWithValue("$chain", chain);
            command.Parameters.AddWithValue("$through", through);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var bytes = (byte[])reader.GetValue(1);
                if (reader.GetInt64(0) != tree.Size || bytes.Length != MerkleHash.Size)
                {
                    break;
                }

                tree.Append(MerkleHash.FromBytes(bytes));
            }

            if (tree.Size != through)
            {
                return (pruned, new AuditVerification
                {
                    IsValid = false,
                    EntriesChecked = 0,
                    BrokenChain = chain,
                    BrokenSequence = tree.Size + 1,
                    Reason = $"Merkle leaf {tree.Size} of the pruned entries 1..{through} is missing or damaged (leaves deleted)",
                });
            }

            trees[chain] = tree;
        }

        return (pruned, null);
    }

    private async Task<AuditVerification> VerifyArchivesAsync(SqliteConnection connection, Dictionary<string, (long Sequence, string Hash)> pruned,
        Dictionary<string, ArchiveLedgerCheck.ArchivedEntry> newestArchived, AuditVerification soFar, CancellationToken cancellationToken)
    {
        var rows = await ReadAllArchiveRowsAsync(connection, cancellationToken);
        AuditVerification Broken(string chain, long? sequence, string reason) =>
            soFar with { IsValid = false, BrokenChain = chain, BrokenSequence = sequence, Reason = reason };

        foreach (var (chain, (through, hash)) in pruned)
        {
            long covered = 0;
            string? coveredHash = null;
            foreach (var row in rows.GetValueOrDefault(chain) ?? [])
            {
                if (covered >= through || row.FirstSequence != covered + 1)
                {
                    break;
                }

                covered = row.LastSequence;
                coveredHash = row.LastHash;
            }

            if (covered < through)
            {
                return Broken(chain, covered + 1,
                    $"entries {covered + 1}..{through} were pruned but no recorded archive holds them (entries deleted)");
            }

            if (covered == through && !string.Equals(coveredHash, hash, StringComparison.Ordinal))
            {
                return Broken(chain, through, $"the pruned marker's hash of entry {through} is not the hash its archive recorded (marker edited)");
            }
        }

        // Every verified checkpoint (the caller checked each one's signature and root) covers its chain up to its size.
        var checkpointed = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT chain, max(size) FROM audit_checkpoints GROUP BY chain";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                checkpointed[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        long unverified = 0;
        var warnings = new List<string>();
        foreach (var chain in rows.Keys.Union(newestArchived.Keys).Order(StringComparer.Ordinal))
        {
            var finding = ArchiveLedgerCheck.Check(rows.GetValueOrDefault(chain) ?? [],
                newestArchived.TryGetValue(chain, out var newest) ? newest : null, checkpointed.GetValueOrDefault(chain));
            if (finding.Reason is { } reason)
            {
                return Broken(chain, finding.Sequence, reason);
            }

            if (finding.UnverifiedRows > 0)
            {
                unverified += finding.UnverifiedRows;
                warnings.Add(string.Create(CultureInfo.InvariantCulture,
                    $"chain '{chain}': {finding.UnverifiedRows} archive rows were recorded before the archive ledger, so no entry commits to " +
                    $"what they hold (their ranges are consecutive and the newest is the archive its audit-archived entry records); " +
                    $"the next nv audit archive commits to all of them"));
            }
        }

        if (unverified > 0)
        {
            Log.ArchiveRowsUnverified(_logger, unverified);
        }

        return soFar with { UnverifiedArchiveRows = unverified, Warnings = warnings };
    }
}
