using System.Text.Json;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>One mutation of a <see cref="BatchRequest"/>.</summary>
public sealed record BatchItem
{
    /// <summary>Create, update, patch or delete.</summary>
    public required BatchOperation Operation { get; init; }

    /// <summary>Entity type: letters, digits and '_', starting with a letter, at most 64 characters.</summary>
    public required string DtoType { get; init; }

    /// <summary>Entity id: 1–200 printable characters. An entity may appear at most once in a batch.</summary>
    public required string EntityId { get; init; }

    /// <summary>The new state (create, update) or the merge patch (patch): a JSON object; ignored for deletes.</summary>
    public JsonElement? Payload { get; init; }

    /// <summary>DTO schema version of the payload (part of the replay key, stored with the entity, shown in the audit).
    /// Null: 1, or for a patch the version the entity is stored with.</summary>
    public int? Version { get; init; }

    /// <summary>Precondition: the item (and with it the batch) applies only if the entity is stored at this LSN (its ETag).</summary>
    public Lsn? ExpectedLsn { get; init; }
}
