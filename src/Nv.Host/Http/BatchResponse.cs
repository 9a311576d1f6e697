namespace Nv.Host.Http;

/// <summary>The body of a successful (or accepted) batch.</summary>
/// <param name="RequestId">The caller's request id.</param>
/// <param name="Status"><c>applied</c>, or <c>accepted</c> (durable, not applied yet: <c>Prefer: nv-ack=durable</c>).</param>
/// <param name="Lsn">The batch's WAL position, also every written entity's new version (ETag).</param>
/// <param name="Items">Each item's outcome, in request order.</param>
internal sealed record BatchResponse(string RequestId, string Status, long Lsn, IReadOnlyList<BatchItemView> Items);
