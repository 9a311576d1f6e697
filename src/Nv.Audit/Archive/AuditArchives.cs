namespace Nv.Audit.Archive;

/// <summary>Offline checks of archive files (written by <c>nv audit archive</c>; format in docs/audit-archive.md): nothing
/// but the file (and, to pin it, the public key) is needed.</summary>
public static class AuditArchives
{
    /// <summary>Verifies an archive: every entry links to the one before (the first to the header's previous hash) and
    /// hashes to its recorded hash, the Merkle root recomputed from the header's frontier and the entries' leaves is the
    /// root the archive's checkpoint signs at its last sequence, and the signature verifies.</summary>
    /// <param name="path">The archive file.</param>
    /// <param name="publicKeyPem">The public key to verify the checkpoint with (pin the key you were given); null: the key
    /// the file carries, which proves only that the file is consistent with itself (<see cref="AuditArchiveVerification.KeyPinned"/>).</param>
    public static AuditArchiveVerification Verify(string path, string? publicKeyPem = null) => AuditArchiveReader.Read(path, publicKeyPem).Result;

    /// <summary>Verifies an archive as <see cref="Verify(string, string?)"/> does, reporting the entries read
    /// (<see cref="AuditProgressPhase.ArchiveFileCheck"/>; the total is not known before the file's end).</summary>
    /// <param name="path">The archive file.</param>
    /// <param name="publicKeyPem">The public key to verify the checkpoint with; null: the key the file carries.</param>
    /// <param name="progress">Receives <see cref="AuditProgress"/> reports at a bounded rate; null: none.</param>
    /// <param name="cancellationToken">Stops the check (it then throws <see cref="OperationCanceledException"/>).</param>
    public static AuditArchiveVerification Verify(string path, string? publicKeyPem, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default) =>
        AuditArchiveReader.Read(path, publicKeyPem, null, new AuditProgressReporter(progress, AuditProgressReporter.DefaultInterval), null,
            cancellationToken).Result;

    /// <summary>Proves, from its archive alone, that an archived entry is in its chain's tree at the archive's checkpoint
    /// (after verifying the whole archive).</summary>
    /// <param name="path">The archive file.</param>
    /// <param name="entryId">The entry.</param>
    /// <param name="publicKeyPem">The key the archive's checkpoint must verify with; null: the key the file carries.</param>
    /// <returns>The proof (its <see cref="AuditInclusionProof.Checkpoint"/> is the archive's), or null when the archive does
    /// not hold the entry.</returns>
    /// <exception cref="InvalidDataException">The archive does not verify (the message says why).</exception>
    public static AuditInclusionProof? Prove(string path, Guid entryId, string? publicKeyPem = null)
    {
        var scan = AuditArchiveReader.Read(path, publicKeyPem, entryId);
        if (!scan.Result.IsValid)
        {
            throw new InvalidDataException($"The archive {path} does not verify: {scan.Result.Reason}");
        }

        if (scan.Kept is not { } entry)
        {
            return null;
        }

        var index = entry.Sequence - 1;
        var tree = scan.Tree!;
        return new AuditInclusionProof
        {
            Entry = entry,
            Chain = entry.Service,
            LeafIndex = index,
            TreeSize = tree.Size,
            LeafHash = tree.GetLeaf(index),
            Path = tree.GetInclusionProof(index),
            Root = tree.Root,
            Checkpoint = scan.Result.Checkpoint,
        };
    }
}
