namespace Nv.Audit;

/// <summary>How far a long audit operation has got: verification (<see cref="IAuditProofs.VerifyAsync(AuditVerifyOptions?, IProgress{AuditProgress}?, CancellationToken)"/>),
/// archiving and pruning (<see cref="Archive.IAuditRetention"/>), and an archive file's check (<see cref="Archive.AuditArchives.Verify(string, string?, IProgress{AuditProgress}?, CancellationToken)"/>).</summary>
/// <param name="Phase">The step under way.</param>
/// <param name="Done">Items of <paramref name="Phase"/> done so far (entries, checkpoints or leaves); never decreases within a phase.</param>
/// <param name="Total">Items the phase expects, when known cheaply; null otherwise. Read from the stored chain heads before the
/// items themselves, so a phase that stops at a problem ends below it.</param>
/// <param name="Chain">The chain the phase works on, for the per-chain phases (archive, prune); null for the whole trail.</param>
/// <remarks>Each phase is reported once when it starts (<paramref name="Done"/> 0), at most every 250 ms while it runs, and
/// once when it ends. Reports are made on the thread doing the work, one after the other: a handler that blocks holds the
/// operation up. <see cref="Progress{T}"/> posts them to the thread pool (without a synchronization context), where they
/// may arrive out of order; a handler that needs order implements <see cref="IProgress{T}"/> itself.</remarks>
public readonly record struct AuditProgress(AuditProgressPhase Phase, long Done, long? Total, string? Chain = null);
