using System.Text.Json;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>One entity mutation submitted to the write pipeline.</summary>
public sealed record WriteRequest
{
    /// <summary>The caller's request id (idempotency key), scoped to <see cref="UserId"/>: a retry with the same id returns
    /// the first outcome and writes nothing new; the same id on a different request is refused
    /// (<see cref="IdempotencyKeyReusedException"/>).</summary>
    public required string RequestId { get; init; }

    /// <summary>Create, update or delete.</summary>
    public required WalOperation Operation { get; init; }

    /// <summary>Entity type: letters, digits and '_', starting with a letter, at most 64 characters.</summary>
    public required string DtoType { get; init; }

    /// <summary>Entity id: 1–200 printable characters; not '/', '\', control or format characters, and not '.' or '..'.</summary>
    public required string EntityId { get; init; }

    /// <summary>The new entity state (a JSON object); ignored for deletes.</summary>
    public JsonElement? Payload { get; init; }

    /// <summary>DTO schema version (part of the replay key).</summary>
    public int Version { get; init; } = 1;

    /// <summary>Who makes the change: the API key's name, or the user id when authentication is off. Request ids are
    /// scoped to it.</summary>
    public string? UserId { get; init; }

    /// <summary>Why the change is made.</summary>
    public string? Reason { get; init; }

    /// <summary>Free-form metadata carried to the audit entry.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Optimistic concurrency: apply only if the stored entity was last written at this LSN.</summary>
    public Lsn? ExpectedLsn { get; init; }

    /// <summary>When to answer (null: <c>Nv:Pipeline:Ack</c>, default <see cref="AckLevel.Applied"/>).</summary>
    public AckLevel? Ack { get; init; }

    /// <summary>The request's fingerprint when the caller's request differs from this write (a PATCH is written as the
    /// merged state; its fingerprint is the merge patch's). Null: computed from the operation and payload.</summary>
    internal string? Fingerprint { get; init; }
}
