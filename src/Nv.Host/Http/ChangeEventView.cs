using System.Text.Json;

namespace Nv.Host.Http;

/// <summary>The data of one change-feed event.</summary>
/// <param name="Id">The event id: <c>"lsn"</c> (a single write, or the last item of a batch this stream sends), or
/// <c>"lsn.item"</c> for another item of a batch.</param>
/// <param name="Lsn">The write's LSN, also the entity's version (ETag) after the change.</param>
/// <param name="Item">The item's index in its batch; null for a single write.</param>
/// <param name="RequestId">The request that made the change.</param>
/// <param name="Operation">create, update or delete.</param>
/// <param name="DtoType">Entity type.</param>
/// <param name="EntityId">Entity id.</param>
/// <param name="Version">The DTO schema version of the change.</param>
/// <param name="After">The entity after the change; null for a delete.</param>
/// <param name="Timestamp">When the write was accepted (UTC).</param>
/// <param name="UserId">Who made it, if known.</param>
internal sealed record ChangeEventView(string Id, long Lsn, int? Item, string RequestId, string Operation, string DtoType, string EntityId, int Version,
    JsonElement? After, DateTimeOffset Timestamp, string? UserId);
