namespace Nv.Host.Pipeline;

/// <summary>Records a service's own audit events in Nv's audit trail, in-process (HTTP: <c>POST /v1/audit/events</c>).</summary>
/// <remarks>Registered by <c>AddNv()</c>, implemented by the write pipeline: an event is validated, appended to the WAL
/// (group commit: as durable as an entity write), recorded by the database writer as its request's outcome (no entity is
/// written), and appended to the service's hash chain and Merkle tree by the audit stage; boot replay and the backfill
/// rebuild the entry from the WAL after any crash, byte for byte. Failure semantics are those of
/// <see cref="IWritePipeline.WriteAsync"/>.</remarks>
public interface IAuditEventWriter
{
    /// <summary>Records one event and returns at the request's <see cref="AckLevel"/> (default: once it is in the trail).</summary>
    /// <exception cref="WriteValidationException">The event is invalid; nothing was written.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The request id was used for a different request by the same caller.</exception>
    /// <exception cref="Nv.Wal.WalFaultedException">The WAL failed; the event was not acknowledged.</exception>
    /// <exception cref="SubjectPendingException">Encryption at rest, an event about an entity of a type mapped to another
    /// subject that names none in its images, while a write of the entity that names another subject is not applied yet;
    /// nothing was written: retry shortly.</exception>
    Task<AuditEventOutcome> RecordAsync(AuditEventRequest request, CancellationToken cancellationToken = default);
}
