namespace Nv.Audit.Archive;

/// <summary>Archives and retention: whole ranges of each chain exported to self-contained, signed archive files, and entries
/// pruned from the store only once a verified archive holds them, keeping every leaf hash and each chain's last hash so
/// every proof and verification of what remains still works. Implemented by the embedded SQLite store.</summary>
/// <remarks>Crash safety: an archive file is written to a temp file, synced, renamed and its directory synced, read back and
/// verified, and only then recorded (with its checkpoint) in one synced transaction; a crash at any step leaves nothing
/// recorded and the next run writes the same range again. Pruning deletes in chunks, each in one synced transaction that
/// also moves the chain's pruned marker; the last chunk also appends the <c>system-events</c> entry <c>audit-pruned</c>;
/// a crash between chunks resumes where the marker stands.</remarks>
public interface IAuditRetention
{
    /// <summary>Writes, for each chain, one archive of the entries after its last archive whose timestamps are all before
    /// <paramref name="before"/> (the longest such run), to <paramref name="directory"/>, verifies it and records it.</summary>
    /// <returns>The archives written (none for a chain with nothing new before that time).</returns>
    /// <exception cref="AuditChainBrokenException">An entry to archive does not verify; nothing is written for its chain.</exception>
    Task<IReadOnlyList<AuditArchiveInfo>> ArchiveAsync(DateTimeOffset before, string directory, CancellationToken cancellationToken = default);

    /// <summary>Archives as <see cref="ArchiveAsync(DateTimeOffset, string, CancellationToken)"/> does, reporting how far each
    /// chain's archive has got: its entries written (<see cref="AuditProgressPhase.ArchiveWrite"/>), then the file read back
    /// and verified (<see cref="AuditProgressPhase.ArchiveFileCheck"/>).</summary>
    /// <param name="before">Archive entries older than this time.</param>
    /// <param name="directory">Where the archive files go (created if missing).</param>
    /// <param name="progress">Receives <see cref="AuditProgress"/> reports at a bounded rate; null: none.</param>
    /// <param name="cancellationToken">Stops before the next step; a file not recorded yet is written again by the next run.</param>
    /// <remarks>The default (for implementations written before it) reports nothing.</remarks>
    Task<IReadOnlyList<AuditArchiveInfo>> ArchiveAsync(DateTimeOffset before, string directory, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default) => ArchiveAsync(before, directory, cancellationToken);

    /// <summary>Prunes, oldest first, every recorded archive's range whose entries are all older than
    /// <paramref name="olderThan"/>, after verifying the archive file again against the store.</summary>
    /// <remarks>An archive whose file is missing or does not verify is skipped (logged), and so is everything after it in
    /// its chain: a chain is only ever pruned from its start.</remarks>
    Task<IReadOnlyList<AuditPruneResult>> PruneAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default);

    /// <summary>Prunes as <see cref="PruneAsync(DateTimeOffset, CancellationToken)"/> does, reporting how far each range has
    /// got: its archive file verified again (<see cref="AuditProgressPhase.ArchiveFileCheck"/>), then its entries deleted
    /// (<see cref="AuditProgressPhase.PruneDelete"/>).</summary>
    /// <param name="olderThan">Prune archived ranges whose entries are all older than this time.</param>
    /// <param name="progress">Receives <see cref="AuditProgress"/> reports at a bounded rate; null: none.</param>
    /// <param name="cancellationToken">Stops between two chunks; the next run resumes at the chain's pruned marker.</param>
    /// <remarks>The default (for implementations written before it) reports nothing.</remarks>
    Task<IReadOnlyList<AuditPruneResult>> PruneAsync(DateTimeOffset olderThan, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default) => PruneAsync(olderThan, cancellationToken);

    /// <summary>Every recorded archive, by chain and range.</summary>
    Task<IReadOnlyList<AuditArchiveInfo>> GetArchivesAsync(CancellationToken cancellationToken = default);
}
