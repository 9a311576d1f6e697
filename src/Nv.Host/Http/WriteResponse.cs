namespace Nv.Host.Http;

/// <summary>The body of a successful write.</summary>
/// <param name="RequestId">The caller's request id.</param>
/// <param name="Status"><c>applied</c>, or <c>accepted</c> (durable, not applied yet: <c>Prefer: nv-ack=durable</c>).</param>
/// <param name="Lsn">The write's WAL position, also the entity's new version (ETag).</param>
/// <param name="Operation">create, update or delete.</param>
/// <param name="DtoType">Entity type.</param>
/// <param name="EntityId">Entity id.</param>
internal sealed record WriteResponse(string RequestId, string Status, long Lsn, string Operation, string DtoType, string EntityId);
