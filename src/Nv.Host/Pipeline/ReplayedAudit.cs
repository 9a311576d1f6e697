using Nv.Audit;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The audit entries of one replayed batch (LSNs <paramref name="First"/>..<paramref name="Last"/>), built and
/// waiting to be appended; <paramref name="Entries"/> is null when the batch is left to the backfill (a gap before it,
/// or <paramref name="Failure"/>).</summary>
internal sealed record ReplayedAudit(Lsn First, Lsn Last, IReadOnlyList<AuditEntry>? Entries, Exception? Failure);
