using Microsoft.Data.Sqlite;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>Verification of a trail that retention pruned: each pruned chain starts after its marker (linking to the kept
/// hash) with the kept leaf hashes of its pruned prefix in its tree, so every stored checkpoint still checks against the
/// recomputed root; and every pruned entry must lie in a recorded archive whose end the marker's hash agrees with.</summary>
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

    private static async Task<AuditVerification> VerifyPrunedAreArchivedAsync(
        SqliteConnection connection, Dictionary<string, (long Sequence, string Hash)> pruned, AuditVerification soFar, CancellationToken cancellationToken)
    {
        foreach (var (chain, (through, hash)) in pruned)
        {
            long covered = 0;
            string? coveredHash = null;
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT first_sequence, last_sequence, last_hash FROM audit_archives WHERE chain = $chain ORDER BY first_sequence";
            command.Parameters.AddWithValue("$chain", chain);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken) && covered < through)
            {
                if (reader.GetInt64(0) != covered + 1)
                {
                    break;
                }

                covered = reader.GetInt64(1);
                coveredHash = reader.GetString(2);
            }

            if (covered < through)
            {
                return soFar with
                {
                    IsValid = false,
                    BrokenChain = chain,
                    BrokenSequence = covered + 1,
                    Reason = $"entries {covered + 1}..{through} were pruned but no recorded archive holds them (entries deleted)",
                };
            }

            if (covered == through && !string.Equals(coveredHash, hash, StringComparison.Ordinal))
            {
                return soFar with
                {
                    IsValid = false,
                    BrokenChain = chain,
                    BrokenSequence = through,
                    Reason = $"the pruned marker's hash of entry {through} is not the hash its archive recorded (marker edited)",
                };
            }
        }

        return soFar;
    }
}
