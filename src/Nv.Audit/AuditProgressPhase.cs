namespace Nv.Audit;

/// <summary>The steps of a long audit operation that <see cref="AuditProgress"/> reports.</summary>
public enum AuditProgressPhase
{
    /// <summary>Verification: each stored entry read, its chain link and hash recomputed (the long step; total: the entries
    /// the chains' heads account for).</summary>
    VerifyEntries = 1,

    /// <summary>Verification: each stored checkpoint's signature and Merkle root checked (total: the stored checkpoints, when
    /// the store counts them cheaply).</summary>
    VerifyCheckpoints = 2,

    /// <summary>Verification: each stored Merkle leaf compared with the one recomputed from its entry (total: the leaves of
    /// the recomputed trees).</summary>
    VerifyLeaves = 3,

    /// <summary>Archiving: one chain's range of entries written to its archive file (total: the range's entries).</summary>
    ArchiveWrite = 4,

    /// <summary>An archive file read and verified entry by entry: after archiving writes it, before pruning deletes its
    /// range, and when an archive file is verified offline (total: its entries, when known before reading it).</summary>
    ArchiveFileCheck = 5,

    /// <summary>Pruning: one archived range's entries deleted from the store, chunk by chunk (total: the range's entries
    /// still to delete when the prune of the range started).</summary>
    PruneDelete = 6,
}
