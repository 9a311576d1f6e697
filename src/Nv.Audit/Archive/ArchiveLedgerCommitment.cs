namespace Nv.Audit.Archive;

/// <summary>What an <c>audit-archived</c> entry commits to: the number of archive rows of its chain, its own last, and the
/// ledger digest over them (<see cref="ArchiveLedger"/>).</summary>
internal readonly record struct ArchiveLedgerCommitment(long Rows, string Digest);
