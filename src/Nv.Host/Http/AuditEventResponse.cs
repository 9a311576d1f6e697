namespace Nv.Host.Http;

/// <summary>The body of a recorded audit event.</summary>
/// <param name="RequestId">The caller's request id.</param>
/// <param name="Status"><c>applied</c> (recorded), <c>accepted</c> (durable in the WAL, <c>Prefer: nv-ack=durable</c>).</param>
/// <param name="Lsn">The event's WAL position.</param>
/// <param name="EntryId">The audit entry's id, when known.</param>
/// <param name="Category">The event's category.</param>
/// <param name="Operation">The event's operation.</param>
/// <param name="EntityId">The event's subject.</param>
internal sealed record AuditEventResponse(string RequestId, string Status, long Lsn, Guid? EntryId, string Category, string Operation, string EntityId);
