using System.Text.Json;

namespace Nv.Wal;

/// <summary>One entity mutation inside a batch record (<see cref="WalOperation.Batch"/>).</summary>
/// <remarks>Persisted wire type (WAL record format 2). The item shares its batch's LSN, request id, user, reason,
/// metadata and timestamp; <see cref="WalRecord.EntityChanges"/> expands it into a full single-entity record.</remarks>
public sealed record WalBatchItem
{
    /// <summary>Unique item id (UUIDv7): the id of the item's audit entry and of the entity version it writes.</summary>
    public required Guid Id { get; init; }

    /// <summary>Create, update or delete (never <see cref="WalOperation.Batch"/>: batches do not nest).</summary>
    public required WalOperation Operation { get; init; }

    /// <summary>Schema version of the DTO type (part of the replay key).</summary>
    public required int Version { get; init; }

    /// <summary>The entity type.</summary>
    public required string DtoType { get; init; }

    /// <summary>The entity id within its type.</summary>
    public required string EntityId { get; init; }

    /// <summary>The entity state after the write (a JSON object; empty or undefined for deletes).</summary>
    public required JsonElement Payload { get; init; }

    /// <summary>Deterministic identity of the target slot, see <see cref="Nv.Wal.ReplayKey"/>.</summary>
    public required string ReplayKey { get; init; }

    /// <summary>When set, the item (and with it the whole batch) applies only if the stored entity was last written at
    /// this LSN.</summary>
    public Lsn? ExpectedLsn { get; init; }

    /// <summary>The data key the item's payload is sealed with (encryption at rest), or null; see <see cref="WalRecord.PayloadKeyId"/>.</summary>
    public Guid? PayloadKeyId { get; init; }

    /// <summary>The item's data subject, when its payload is sealed; see <see cref="WalRecord.Subject"/>.</summary>
    public string? Subject { get; init; }

    /// <summary>The item's payload as sealed in the log; see <see cref="WalRecord.SealedPayload"/>.</summary>
    public ReadOnlyMemory<byte> SealedPayload { get; init; }

    /// <summary>The item's payload is sealed and its key was not available when read; see <see cref="WalRecord.PayloadUnavailable"/>.</summary>
    public bool PayloadUnavailable { get; init; }
}
