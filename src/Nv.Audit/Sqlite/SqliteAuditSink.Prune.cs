using System.Globalization;
using System.Security.Cryptography;
using Nv.Audit.Archive;

namespace Nv.Audit.Sqlite;

/// <summary>Retention: deletes the entries of recorded archives once they are all older than the window, only after the
/// archive file verifies again (same SHA-256 as recorded, every check of <see cref="AuditArchives.Verify(string, string?)"/> with the store's
/// own key, and its range, last hash and root equal to the store's), in chunks.</summary>
/// <remarks>Each chunk is one synced transaction: the entries deleted (the delete trigger passes only archived ones) and the
/// chain's pruned marker moved to the chunk's last entry and its hash; the leaf hashes stay, so the tree, every proof and
/// verification are unchanged. The last chunk of a range also appends the <c>system-events</c> entry <c>audit-pruned</c>.
/// A crash after any chunk resumes at the marker: nothing is deleted twice, the entry is written once.</remarks>
internal sealed partial class SqliteAuditSink
{
    private const string PrunedOperation = NvOperations.AuditPruned;

    public Task<IReadOnlyList<AuditPruneResult>> PruneAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default) =>
        PruneAsync(olderThan, null, cancellationToken);

    public async Task<IReadOnlyList<AuditPruneResult>> PruneAsync(DateTimeOffset olderThan, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default)
    {
        var results = new List<AuditPruneResult>();
        var reporter = new AuditProgressReporter(progress, ProgressInterval);
        var publicKey = await GetPublicKeyPemAsync(cancellationToken);
        foreach (var chain in (await GetArchivesAsync(cancellationToken)).GroupBy(static a => a.Chain, StringComparer.Ordinal))
        {
            foreach (var archive in chain.OrderBy(static a => a.FirstSequence))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (archive.LastTimestamp >= olderThan)
                {
                    break; // a chain is pruned from its start only: what follows is not older
                }

                var pruned = await PrunedThroughAsync(archive.Chain, cancellationToken);
                if (pruned >= archive.LastSequence)
                {
                    continue;
                }

                var problem = pruned < archive.FirstSequence - 1
                    ? $"entries {pruned + 1}..{archive.FirstSequence - 1} are not pruned yet"
                    : await CheckArchiveAsync(archive, publicKey, reporter, cancellationToken);
                if (problem is not null)
                {
                    Log.PruneSkipped(_logger, archive.Chain, pruned + 1, archive.FilePath, problem);
                    break;
                }

                reporter.Begin(AuditProgressPhase.PruneDelete, archive.LastSequence - pruned, archive.Chain);
                for (var from = pruned + 1; from <= archive.LastSequence; from += _options.PruneBatchSize)
                {
                    var to = Math.Min(from + _options.PruneBatchSize - 1, archive.LastSequence);
                    await PruneChunkAsync(archive, from, to, cancellationToken);
                    Step(AuditCrashPoints.PruneAfterChunk);
                    reporter.Advance(to - pruned);
                }

                reporter.End(archive.LastSequence - pruned);

                results.Add(new AuditPruneResult(archive.Chain, pruned + 1, archive.LastSequence, archive.FilePath));
                Log.Pruned(_logger, archive.Chain, pruned + 1, archive.LastSequence, archive.FilePath);
            }
        }

        return results;
    }

    // Why the archive may not stand in for the store's entries, or null when it may.
    private async Task<string?> CheckArchiveAsync(AuditArchiveInfo archive, string publicKey, AuditProgressReporter progress,
        CancellationToken cancellationToken)
    {
        if (!File.Exists(archive.FilePath))
        {
            return "the file is missing";
        }

        string sha256;
        await using (var file = File.OpenRead(archive.FilePath))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
        }

        if (!string.Equals(sha256, archive.FileSha256, StringComparison.Ordinal))
        {
            return "the file changed since it was recorded (SHA-256 differs)";
        }

        var check = AuditArchiveReader.Read(archive.FilePath, publicKey, null, progress, archive.LastSequence - archive.FirstSequence + 1,
            cancellationToken).Result;
        if (!check.IsValid)
        {
            return check.Reason;
        }

        if (check.Chain != archive.Chain || check.FirstSequence != archive.FirstSequence || check.LastSequence != archive.LastSequence
            || check.LastHash != archive.LastHash)
        {
            return "the file holds another range than the one recorded";
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            var tree = Chain(archive.Chain).Tree;
            return tree.Size >= archive.LastSequence && tree.RootAt(archive.LastSequence) == archive.Checkpoint.Checkpoint.RootHash
                ? null
                : "its checkpoint's root is not the store's tree at that size";
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task PruneChunkAsync(AuditArchiveInfo archive, long from, long to, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            var lastHash = EntryHash(archive.Chain, to)
                ?? throw new AuditChainBrokenException(archive.Chain, to, $"entry {to} is missing before it was pruned; run nv audit verify");
            List<AuditEntry> entries = to < archive.LastSequence
                ? []
                : [AuditEntryFactory.SystemEvent(archive.Chain, PrunedOperation, "audit",
                    $"entries {archive.FirstSequence}..{archive.LastSequence} pruned: they are in the verified archive {Path.GetFileName(archive.FilePath)}",
                    new Dictionary<string, string>
                    {
                        ["firstSequence"] = archive.FirstSequence.ToString(CultureInfo.InvariantCulture),
                        ["lastSequence"] = archive.LastSequence.ToString(CultureInfo.InvariantCulture),
                        ["file"] = archive.FilePath,
                        ["sha256"] = archive.FileSha256,
                        ["lastHash"] = archive.LastHash,
                    }, _time)];
            AppendChunk(entries, 0, entries.Count, null, () =>
            {
                using var delete = _writer!.CreateCommand();
                delete.CommandText = "DELETE FROM audit_entries WHERE service = $chain AND sequence BETWEEN $from AND $to";
                delete.Parameters.AddWithValue("$chain", archive.Chain);
                delete.Parameters.AddWithValue("$from", from);
                delete.Parameters.AddWithValue("$to", to);
                delete.ExecuteNonQuery();
                using var marker = _writer.CreateCommand();
                marker.CommandText = "INSERT INTO audit_pruned (chain, through, last_hash) VALUES ($chain, $through, $hash) " +
                    "ON CONFLICT (chain) DO UPDATE SET through = excluded.through, last_hash = excluded.last_hash";
                marker.Parameters.AddWithValue("$chain", archive.Chain);
                marker.Parameters.AddWithValue("$through", to);
                marker.Parameters.AddWithValue("$hash", lastHash);
                marker.ExecuteNonQuery();
            }, synced: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<long> PrunedThroughAsync(string chain, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT through FROM audit_pruned WHERE chain = $chain";
        command.Parameters.AddWithValue("$chain", chain);
        return await command.ExecuteScalarAsync(cancellationToken) is long through ? through : 0;
    }

    private string? EntryHash(string chain, long sequence)
    {
        using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT hash FROM audit_entries WHERE service = $chain AND sequence = $sequence";
        command.Parameters.AddWithValue("$chain", chain);
        command.Parameters.AddWithValue("$sequence", sequence);
        return command.ExecuteScalar() as string;
    }
}
