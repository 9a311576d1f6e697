namespace Nv.DbWriter;

/// <summary>The outcome of a batch (see <see cref="ApplyRules.DecideBatch"/>).</summary>
/// <param name="Status">Applied, AlreadyApplied (every item superseded) or Rejected.</param>
/// <param name="Reason">Why the failed item was rejected.</param>
/// <param name="FailedItem">The first rejected item, when rejected.</param>
/// <param name="ItemStatuses">Each decided item's own status (items after a rejected one are not decided).</param>
/// <param name="FailedStoredLsn">The failed item's stored LSN, for the message.</param>
internal sealed record BatchDecision(ApplyStatus Status, RejectReason Reason, int? FailedItem, ApplyStatus[] ItemStatuses, long? FailedStoredLsn);
