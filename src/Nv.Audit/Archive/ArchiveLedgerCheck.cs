using System.Globalization;

namespace Nv.Audit.Archive;

/// <summary>Checks a chain's archive rows against the newest <c>audit-archived</c> entry its verified chain still holds:
/// the rows run from entry 1 without gaps or overlaps, the newest row is the one that entry records, the rows hash to the
/// ledger it commits to, and a signed checkpoint covers it. Used by verification and, before recording anything, by
/// <c>nv audit archive</c> (so a new commitment never takes in a row it cannot vouch for).</summary>
/// <remarks>The newest archive's entry is never pruned (it lies after every archived range), so a chain with archive rows
/// always has one. The checkpoint rule is what stops plain SQL from appending a forged <c>audit-archived</c> entry at the
/// chain's tail (a tail append breaks no link and no older checkpoint): the store signs a checkpoint at the entry in the
/// transaction that records it, and a forger cannot sign. An entry written before the ledger existed carries no
/// commitment: its rows are checked as before (ranges contiguous, the newest one's range and file hash) and reported as
/// unverified, until the next archive commits to all of them.</remarks>
internal static class ArchiveLedgerCheck
{
    /// <summary>The operation name of the entry recording an archive.</summary>
    public const string ArchivedOperation = NvOperations.AuditArchived;

    /// <summary>The outcome for one chain: a problem (<paramref name="Reason"/>, the sequence to report), or none, with the
    /// number of rows no ledger covers.</summary>
    internal readonly record struct Finding(string? Reason, long? Sequence, long UnverifiedRows)
    {
        public static Finding Ok(long unverifiedRows = 0) => new(null, null, unverifiedRows);

        public static Finding Problem(string reason, long sequence) => new(reason, sequence, 0);
    }

    /// <summary>The newest Nv-written <c>audit-archived</c> entry of a chain (system-events, no LSN).</summary>
    internal readonly record struct ArchivedEntry(long Sequence, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Whether <paramref name="entry"/> is an <c>audit-archived</c> entry Nv wrote itself: custom events may not take
    /// the name (<see cref="AuditEvents"/>), and any that reached the WAL before that rule carry an LSN.</summary>
    public static bool IsArchivedEntry(AuditEntry entry) =>
        entry.Category == AuditCategory.SystemEvents && entry.Operation == ArchivedOperation && entry.Lsn is null;

    /// <param name="rows">The chain's archive rows, by first sequence.</param>
    /// <param name="newest">The newest <c>audit-archived</c> entry among the chain's live (unpruned) entries, if any.</param>
    /// <param name="checkpointedSize">The largest tree size of the chain's stored checkpoints (each verified by the caller).</param>
    public static Finding Check(IReadOnlyList<ArchiveRow> rows, ArchivedEntry? newest, long checkpointedSize)
    {
        ArgumentNullException.ThrowIfNull(rows);
        long next = 1;
        foreach (var row in rows)
        {
            if (row.FirstSequence != next || row.LastSequence < row.FirstSequence)
            {
                return Finding.Problem($"the archive rows are not consecutive ranges from entry 1: entries " +
                    $"{row.FirstSequence}..{row.LastSequence} follow entry {next - 1} (archive row deleted or inserted)", Math.Min(row.FirstSequence, next));
            }

            next = row.LastSequence + 1;
        }

        if (newest is not { } entry)
        {
            return rows.Count == 0
                ? Finding.Ok()
                : Finding.Problem($"archive rows cover entries 1..{rows[^1].LastSequence} but no audit-archived entry of the chain records " +
                    $"them (archive row inserted, or the entry recording the newest archive deleted)", rows[^1].FirstSequence);
        }

        if (!TryReadRange(entry.Metadata, out var first, out var last, out var sha256))
        {
            return Finding.Problem($"audit-archived entry {entry.Sequence} does not name the range and file it recorded", entry.Sequence);
        }

        if (rows.Count == 0)
        {
            return Finding.Problem($"audit-archived entry {entry.Sequence} records the archive of entries {first}..{last}, but the store " +
                $"holds no archive row (archive rows deleted)", entry.Sequence);
        }

        var newestRow = rows[^1];
        if (newestRow.FirstSequence != first || newestRow.LastSequence != last
            || !string.Equals(newestRow.FileSha256, sha256, StringComparison.Ordinal))
        {
            return Finding.Problem($"the newest archive row (entries {newestRow.FirstSequence}..{newestRow.LastSequence}) is not the archive " +
                $"the newest audit-archived entry {entry.Sequence} records (entries {first}..{last}) (archive row inserted, deleted or edited)",
                newestRow.FirstSequence > last ? newestRow.FirstSequence : entry.Sequence);
        }

        ArchiveLedgerCommitment? commitment;
        try
        {
            commitment = ArchiveLedger.Read(entry.Metadata);
        }
        catch (FormatException ex)
        {
            return Finding.Problem($"audit-archived entry {entry.Sequence}: {ex.Message}", entry.Sequence);
        }

        if (commitment is not { } committed)
        {
            return Finding.Ok(rows.Count); // written before the ledger: nothing to compare the rows with
        }

        if (checkpointedSize < entry.Sequence)
        {
            return Finding.Problem($"audit-archived entry {entry.Sequence} is not covered by a signed checkpoint (the store signs one " +
                $"when it records an archive: an entry appended behind its back)", entry.Sequence);
        }

        if (committed.Rows != rows.Count || !string.Equals(committed.Digest, ArchiveLedger.Digest(rows), StringComparison.Ordinal))
        {
            return Finding.Problem($"the {rows.Count} archive rows are not the {committed.Rows} that audit-archived entry {entry.Sequence} " +
                $"commits to (archive row inserted, deleted or edited)", entry.Sequence);
        }

        return Finding.Ok();
    }

    private static bool TryReadRange(IReadOnlyDictionary<string, string> metadata, out long first, out long last, out string sha256)
    {
        first = last = 0;
        sha256 = string.Empty;
        if (!metadata.TryGetValue("firstSequence", out var firstText) || !metadata.TryGetValue("lastSequence", out var lastText)
            || !metadata.TryGetValue("sha256", out var sha))
        {
            return false;
        }

        sha256 = sha;
        return long.TryParse(firstText, NumberStyles.None, CultureInfo.InvariantCulture, out first)
            && long.TryParse(lastText, NumberStyles.None, CultureInfo.InvariantCulture, out last);
    }
}
