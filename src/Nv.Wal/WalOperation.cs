namespace Nv.Wal;

/// <summary>The kind of mutation a WAL record carries.</summary>
public enum WalOperation
{
    /// <summary>Create a new entity; rejected if a live entity with the same id exists.</summary>
    Create = 1,

    /// <summary>Replace the state of an existing entity with the payload; rejected if none exists.</summary>
    Update = 2,

    /// <summary>Delete an existing entity (a tombstone keeps its LSN); rejected if none exists.</summary>
    Delete = 3,

    /// <summary>An atomic batch: the record carries an ordered list of create/update/delete items
    /// (<see cref="WalRecord.Items"/>) under one LSN and one request id, applied all-or-nothing.</summary>
    Batch = 4,
    /// <summary>An audit event the service records itself (a report exported, a role granted): no entity is written. The
    /// database only records the request's outcome, for idempotency; the audit trail gets one entry, built from the record
    /// alone (category, operation and the optional before/after images in <see cref="WalRecord.Payload"/>, the event's
    /// subject in <see cref="WalRecord.EntityId"/>, its optional entity type in <see cref="WalRecord.DtoType"/>, empty
    /// when none). Boot replay and the audit backfill cover it like any other record.</summary>
    AuditEvent = 5,

    /// <summary>Erase a data subject (crypto-shredding): destroy every data key its payloads were sealed with, delete its
    /// live entities, and record the erasure. The record's <see cref="WalRecord.Subject"/> names the subject; it carries no
    /// payload.</summary>
    /// <remarks>Numbered apart from the others (16) so that operations added on other branches do not collide with it.</remarks>
    Erase = 16,
}
