using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Nv.Audit.Chain;

namespace Nv.Audit.Archive;

/// <summary>The archive ledger: a running SHA-256 over every archive row of a chain, in range order, that each
/// <c>audit-archived</c> entry commits to (in its metadata), so the chain itself says which archive rows may exist.</summary>
/// <remarks>
/// Why: the rows of <c>audit_archives</c> sit outside the hash chain, and verification accepts the pruning of any entries
/// a row covers. Without a commitment, plain SQL could add a row, delete the entries it claims and move the pruned marker,
/// and the chain, the kept leaves and every checkpoint would still verify. Each archive's <c>audit-archived</c> entry is
/// appended after its range ends and is in turn archived only by a later archive, whose own entry lies after that; so the
/// entry of a chain's newest archive is never pruned, and it commits to every row. Format (docs/audit-archive.md §5),
/// version 1: <c>ledger(0) = 32 zero bytes</c>, <c>ledger(k) = SHA-256(ledger(k-1) ‖ row bytes(k))</c>; row bytes are
/// <c>"NVAR"</c>, the version byte 1, then the nine columns as fields of the entry encoding (docs/audit-hash-chain.md):
/// chain, first sequence, last sequence (decimal), last hash, last timestamp, file name, file SHA-256, checkpoint text,
/// created. Changing any of this breaks every stored commitment: add a version instead.
/// </remarks>
internal static class ArchiveLedger
{
    /// <summary>The ledger format version this build writes and verifies.</summary>
    public const string Version = "1";

    /// <summary>Metadata key of the ledger format version in an <c>audit-archived</c> entry.</summary>
    public const string VersionKey = "archiveLedgerVersion";

    /// <summary>Metadata key of the number of archive rows of the chain the entry commits to (its own included).</summary>
    public const string RowsKey = "archiveLedgerRows";

    /// <summary>Metadata key of the ledger digest (lowercase hex) over those rows.</summary>
    public const string DigestKey = "archiveLedgerSha256";

    private static ReadOnlySpan<byte> Magic => "NVAR"u8;

    /// <summary>The ledger over <paramref name="rows"/>, in the order given (range order), as lowercase hex.</summary>
    public static string Digest(IEnumerable<ArchiveRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var ledger = new byte[SHA256.HashSizeInBytes];
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var row in rows)
        {
            buffer.Clear();
            buffer.Write(ledger);
            WriteRow(row, buffer);
            SHA256.HashData(buffer.WrittenSpan, ledger);
        }

        return Convert.ToHexStringLower(ledger);
    }

    /// <summary>The canonical bytes of one row (version 1).</summary>
    public static void WriteRow(ArchiveRow row, ArrayBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Magic);
        output.Write<byte>([1]);
        AuditCanonicalEncoding.WriteText(output, row.Chain);
        AuditCanonicalEncoding.WriteNumber(output, row.FirstSequence);
        AuditCanonicalEncoding.WriteNumber(output, row.LastSequence);
        AuditCanonicalEncoding.WriteText(output, row.LastHash);
        AuditCanonicalEncoding.WriteText(output, row.LastTimestamp);
        AuditCanonicalEncoding.WriteText(output, row.FileName);
        AuditCanonicalEncoding.WriteText(output, row.FileSha256);
        AuditCanonicalEncoding.WriteText(output, row.Checkpoint);
        AuditCanonicalEncoding.WriteText(output, row.Created);
    }

    /// <summary>The metadata an <c>audit-archived</c> entry carries to commit to <paramref name="rows"/> (its own row last).</summary>
    public static Dictionary<string, string> Metadata(IReadOnlyCollection<ArchiveRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new Dictionary<string, string>
        {
            [VersionKey] = Version,
            [RowsKey] = rows.Count.ToString(CultureInfo.InvariantCulture),
            [DigestKey] = Digest(rows),
        };
    }

    /// <summary>The commitment an <c>audit-archived</c> entry's metadata holds; null when it holds none (an entry written
    /// before the ledger existed).</summary>
    /// <exception cref="FormatException">The metadata holds part of a commitment, an unknown version, or malformed values.</exception>
    public static ArchiveLedgerCommitment? Read(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var hasVersion = metadata.TryGetValue(VersionKey, out var version);
        var hasRows = metadata.TryGetValue(RowsKey, out var rows);
        var hasDigest = metadata.TryGetValue(DigestKey, out var digest);
        if (!hasVersion && !hasRows && !hasDigest)
        {
            return null;
        }

        if (!hasVersion || !hasRows || !hasDigest)
        {
            throw new FormatException($"it holds only part of an archive ledger commitment ({VersionKey}, {RowsKey}, {DigestKey})");
        }

        if (version != Version)
        {
            throw new FormatException($"archive ledger version '{version}' is not one this build knows ({Version})");
        }

        if (!long.TryParse(rows, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1
            || count.ToString(CultureInfo.InvariantCulture) != rows)
        {
            throw new FormatException($"{RowsKey} '{rows}' is not a positive decimal number");
        }

        if (!AuditHash.IsWellFormed(digest))
        {
            throw new FormatException($"{DigestKey} is not a lowercase SHA-256 hex digest");
        }

        return new ArchiveLedgerCommitment(count, digest!);
    }
}
