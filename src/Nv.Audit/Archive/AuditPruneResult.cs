namespace Nv.Audit.Archive;

/// <summary>What one retention pass pruned from one chain.</summary>
/// <param name="Chain">The chain.</param>
/// <param name="FromSequence">First entry deleted.</param>
/// <param name="ThroughSequence">Last entry deleted (the chain's kept hash is this entry's).</param>
/// <param name="ArchiveFile">The verified archive that holds them.</param>
public sealed record AuditPruneResult(string Chain, long FromSequence, long ThroughSequence, string ArchiveFile);
