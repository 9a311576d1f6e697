namespace Nv.Host.Http;

/// <summary>One item's outcome in a batch answer.</summary>
/// <param name="Index">Position in the request (0-based).</param>
/// <param name="Op">create, update, patch or delete.</param>
/// <param name="DtoType">Entity type.</param>
/// <param name="EntityId">Entity id.</param>
/// <param name="Status">applied, rejected, not-applied, accepted or pending.</param>
/// <param name="Lsn">The batch's LSN: the entity's new version (ETag) when applied; null when the batch never reached the WAL.</param>
internal sealed record BatchItemView(int Index, string Op, string DtoType, string EntityId, string Status, long? Lsn);
