using System.Text.Json;
using Nv.Wal;

namespace Nv.Host.Changes;

/// <summary>One applied entity change, as the change feed publishes it.</summary>
/// <remarks>Changes come in LSN order; the items of a batch share its LSN and come in item order. A rejected write (or
/// batch) is not a change and never appears.</remarks>
public sealed record ChangeEvent
{
    /// <summary>Where this change is in the feed (item 0 for a single write).</summary>
    public required ChangePosition Position { get; init; }

    /// <summary>The event id, the place to resume after this change: <c>"lsn"</c> for a single write and for the last item of
    /// a batch this consumer gets ("LSN fully consumed"), <c>"lsn.item"</c> for the other items of a batch (so a consumer
    /// that stopped after item 0 of a batch resumes at item 1); <see cref="ChangePosition.TryParseAfter"/> reads it back.</summary>
    /// <remarks>Which item of a batch is its last depends on the consumer's <see cref="ChangeFeedOptions.DtoType"/> filter (and
    /// on which items were written): the last one the consumer gets carries the record's id, so resuming after it never asks
    /// for the record again, and does not hear "gone" when the record was truncated meanwhile.</remarks>
    public required string Id { get; init; }

    /// <summary>Whether this change is an item of a batch (<see cref="ChangePosition.Item"/> of <see cref="Position"/> is then
    /// its index in the batch), also when its <see cref="Id"/> is the plain LSN of the batch's last item.</summary>
    public bool IsBatchItem { get; init; }

    /// <summary>The LSN of the write: the entity's version (ETag) after this change.</summary>
    public Lsn Lsn => Position.Lsn;

    /// <summary>The request that made the change (shared by every item of a batch).</summary>
    public required string RequestId { get; init; }

    /// <summary><c>create</c>, <c>update</c> or <c>delete</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>Entity type.</summary>
    public required string DtoType { get; init; }

    /// <summary>Entity id.</summary>
    public required string EntityId { get; init; }

    /// <summary>The DTO schema version the change was written with.</summary>
    public required int Version { get; init; }

    /// <summary>The entity after the change; null for a delete.</summary>
    public JsonElement? After { get; init; }

    /// <summary>When the write was accepted (UTC).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Who made the change, if known.</summary>
    public string? UserId { get; init; }
}
