using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Archive;

/// <summary>Reads an archive file and checks everything it claims, from the file alone: the format, that every entry is
/// the next of its chain (sequence, prevHash, recomputed hash), that the Merkle root recomputed from the frontier and the
/// entries' leaves is the root the checkpoint signs at the last sequence, and the checkpoint's signature.</summary>
/// <remarks>Streaming: one entry at a time, keeping only the 32-byte leaf hashes. The first problem found is reported with
/// the entry's sequence (or the line) and why.</remarks>
internal static class AuditArchiveReader
{
    /// <summary>What a scan found.</summary>
    /// <param name="Result">The verification result.</param>
    /// <param name="Tree">The recomputed tree (base frontier and every archived leaf), when the entries were all read.</param>
    /// <param name="Kept">The entry the caller asked to keep (by id), if found.</param>
    /// <param name="LastTimestamp">The newest timestamp among the entries.</param>
    public sealed record Scan(AuditArchiveVerification Result, ArchiveTree? Tree, AuditEntry? Kept, DateTimeOffset LastTimestamp);

    /// <param name="path">The archive file.</param>
    /// <param name="pinnedKeyPem">The public key the checkpoint must verify with; null: the key the file carries.</param>
    /// <param name="keep">An entry id to keep (for a proof).</param>
    /// <param name="progress">Reports the entries read (<see cref="AuditProgressPhase.ArchiveFileCheck"/>); null: none.</param>
    /// <param name="expected">The entries the caller expects the file to hold (the progress total), when it knows.</param>
    /// <param name="cancellationToken">Checked every <see cref="AuditProgressReporter.CheckEvery"/> entries.</param>
    public static Scan Read(string path, string? pinnedKeyPem, Guid? keep = null, AuditProgressReporter? progress = null, long? expected = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var result = new AuditArchiveVerification { IsValid = false, File = path, KeyPinned = pinnedKeyPem is not null };
        Scan Broken(string reason, long? sequence = null) => new(result with { Reason = reason, BrokenSequence = sequence }, null, null, default);
        if (!System.IO.File.Exists(path))
        {
            return Broken("the file does not exist");
        }

        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var text = new StreamReader(gzip, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);
            var headerLine = text.ReadLine() ?? throw new FormatException("the file is empty");
            using var header = JsonDocument.Parse(headerLine);
            var h = header.RootElement;
            if (h.GetProperty("format").GetString() != AuditArchiveFormat.Format)
            {
                return Broken($"not an archive of format {AuditArchiveFormat.Format}");
            }

            var chain = h.GetProperty("chain").GetString() ?? throw new FormatException("the header names no chain");
            var first = h.GetProperty("firstSequence").GetInt64();
            var prevHash = h.GetProperty("prevHash").GetString() ?? throw new FormatException("the header has no prevHash");
            if (first < 1 || !AuditHash.IsWellFormed(prevHash) || (first == 1 && prevHash != AuditHash.Genesis))
            {
                return Broken("the header's first sequence or previous hash is malformed");
            }

            var frontier = h.GetProperty("frontier").EnumerateArray().Select(static f => MerkleHash.FromHex(f.GetString()!)).ToList();
            var tree = new ArchiveTree(first - 1, frontier);
            result = result with { Chain = chain, FirstSequence = first, PrevHash = prevHash };

            var verifier = new AuditChainVerifier(new Dictionary<string, (long, string)> { [chain] = (first - 1, prevHash) });
            AuditEntry? kept = null;
            var lastTimestamp = DateTimeOffset.MinValue;
            string? line;
            JsonDocument? trailer = null;
            progress?.Begin(AuditProgressPhase.ArchiveFileCheck, expected, chain);
            try
            {
                while ((line = text.ReadLine()) is not null)
                {
                    if (verifier.EntriesChecked % AuditProgressReporter.CheckEvery == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    using var document = JsonDocument.Parse(line);
                    if (document.RootElement.TryGetProperty("end", out _))
                    {
                        trailer = JsonDocument.Parse(line);
                        if (text.ReadLine() is not null)
                        {
                            return Broken("lines follow the end line");
                        }

                        break;
                    }

                    AuditEntry entry;
                    try
                    {
                        entry = ArchiveEntryJson.Read(document.RootElement);
                    }
                    catch (FormatException ex)
                    {
                        return Broken($"entry {first + verifier.EntriesChecked} does not parse: {ex.Message} (entry edited)", first + verifier.EntriesChecked);
                    }

                    if (!string.Equals(entry.Service, chain, StringComparison.Ordinal))
                    {
                        return Broken($"entry {entry.Sequence} belongs to chain '{entry.Service}', not '{chain}'", entry.Sequence);
                    }

                    if (!verifier.Add(entry))
                    {
                        var broken = verifier.ToResult();
                        return Broken(broken.Reason!, broken.BrokenSequence);
                    }

                    tree.Append(verifier.LastLeafHash);
                    lastTimestamp = entry.Timestamp > lastTimestamp ? entry.Timestamp : lastTimestamp;
                    if (keep is { } id && entry.Id == id)
                    {
                        kept = entry;
                    }

                    result = result with { EntriesChecked = verifier.EntriesChecked, LastSequence = entry.Sequence, LastHash = entry.Hash };
                    progress?.Advance(verifier.EntriesChecked);
                }

                if (trailer is null)
                {
                    return Broken($"the file ends after entry {first + verifier.EntriesChecked - 1} without its end line (truncated)");
                }

                return Finish(result, trailer.RootElement, tree, kept, lastTimestamp, pinnedKeyPem, Broken);
            }
            finally
            {
                progress?.End(verifier.EntriesChecked);
                trailer?.Dispose();
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidDataException or KeyNotFoundException
                                       or InvalidOperationException or DecoderFallbackException or CheckpointFormatException or ArgumentException)
        {
            return Broken("the file is damaged or not an archive: " + ex.Message);
        }
    }

    private static Scan Finish(
        AuditArchiveVerification result, JsonElement trailer, ArchiveTree tree, AuditEntry? kept, DateTimeOffset lastTimestamp, string? pinnedKeyPem,
        Func<string, long?, Scan> broken)
    {
        var last = trailer.GetProperty("lastSequence").GetInt64();
        var count = trailer.GetProperty("entries").GetInt64();
        if (result.EntriesChecked == 0 || count != result.EntriesChecked || last != result.LastSequence
            || trailer.GetProperty("lastHash").GetString() != result.LastHash)
        {
            return broken($"the end line (last sequence {last}, {count} entries) does not match the entries read " +
                $"({result.EntriesChecked}, last {result.LastSequence}) (entries removed or added)", null);
        }

        var signed = SignedCheckpoint.Parse(trailer.GetProperty("checkpoint").GetString() ?? throw new FormatException("no checkpoint"));
        var checkpoint = signed.Checkpoint;
        result = result with { Checkpoint = signed };
        if (checkpoint.ChainId != result.Chain || checkpoint.TreeSize != last)
        {
            return broken($"the checkpoint is for chain '{checkpoint.ChainId}' at size {checkpoint.TreeSize}, not '{result.Chain}' at {last}", null);
        }

        var root = tree.Root;
        if (root != checkpoint.RootHash)
        {
            return broken($"Merkle root mismatch: the entries (with the archive's frontier) give {root.ToHex()}, the checkpoint signs " +
                $"{checkpoint.RootHash.ToHex()} (entries rewritten, with recomputed hashes)", null);
        }

        var keyPem = pinnedKeyPem ?? trailer.GetProperty("publicKey").GetString() ?? throw new FormatException("no public key");
        using var verifier = CheckpointVerifier.FromPublicKeyPem(keyPem);
        var signature = verifier.Verify(signed);
        if (!signature.IsValid)
        {
            return broken($"the checkpoint's signature does not verify ({signature.Failure}: {signature.Reason})", null);
        }

        return new Scan(result with { IsValid = true }, tree, kept, lastTimestamp);
    }
}
