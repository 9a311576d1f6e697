using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Replay;

/// <summary>A replay batch whose database transaction has committed: the records (ascending, contiguous LSNs) and one
/// result per record, handed from the apply stage to the audit stage.</summary>
internal sealed record AppliedBatch(IReadOnlyList<WalRecord> Records, IReadOnlyList<ApplyResult> Results);
