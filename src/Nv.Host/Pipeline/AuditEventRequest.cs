using System.Text.Json;
using Nv.Audit;

namespace Nv.Host.Pipeline;

/// <summary>A custom audit event a service records in Nv's audit trail (a report exported, a role granted, a setting
/// changed), through <see cref="IAuditEventWriter"/>.</summary>
/// <remarks>The event is written to the WAL like an entity write (so it is as durable, replayed and backfilled the same
/// way) and becomes one entry of the service's hash chain and Merkle tree. Request ids work as for writes: scoped to
/// <see cref="UserId"/>, a retry returns the first outcome and records nothing new, the same id for a different event is
/// refused (<see cref="IdempotencyKeyReusedException"/>).</remarks>
public sealed record AuditEventRequest
{
    /// <summary>The caller's request id (idempotency key): printable ASCII without spaces, at most 128 characters.</summary>
    public required string RequestId { get; init; }

    /// <summary>The event's category: any but <see cref="AuditCategory.EntityMutation"/>, which only Nv's own entity writes
    /// produce.</summary>
    public required AuditCategory Category { get; init; }

    /// <summary>What happened, e.g. <c>report-exported</c>: 1–64 ASCII letters, digits, <c>-</c>, <c>_</c>, <c>.</c>, <c>:</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>What it happened to (the entry's entity id): the same alphabet as entity ids.</summary>
    public required string EntityId { get; init; }

    /// <summary>The subject's type, if it has one: letters, digits and '_', starting with a letter.</summary>
    public string? DtoType { get; init; }

    /// <summary>Who did it (request ids are scoped to it).</summary>
    public string? UserId { get; init; }

    /// <summary>Why.</summary>
    public string? Reason { get; init; }

    /// <summary>Free-form string metadata (at most 64 entries).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>The state before, if the event changed something (any JSON value; objects follow the rules of entity bodies).</summary>
    public JsonElement? Before { get; init; }

    /// <summary>The state after, if the event changed something.</summary>
    public JsonElement? After { get; init; }

    /// <summary>When to answer (null: <see cref="AckLevel.Audited"/>, once the entry is in the trail or handed to the
    /// backfill; <see cref="AckLevel.Durable"/> answers once the WAL holds the event).</summary>
    public AckLevel? Ack { get; init; }

    /// <summary>The fingerprint of the caller's request when it is not this record (the HTTP layer hashes the body as sent).</summary>
    internal string? Fingerprint { get; init; }
}
