using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>A request id (idempotency key) was reused for a different request: nothing was written (HTTP 422).</summary>
/// <remarks>The first request's outcome stays what a retry of that request gets; this request needs an id of its own.</remarks>
public sealed class IdempotencyKeyReusedException : NvException
{
    /// <summary>Creates the exception.</summary>
    public IdempotencyKeyReusedException(string requestId, string firstRequest)
        : base($"Request id '{requestId}' was already used for a different request ({firstRequest}); nothing was written. " +
            "Send a new request id for a new request; reuse an id only to retry exactly the same request.")
    {
        RequestId = requestId;
        FirstRequest = firstRequest;
    }

    /// <summary>The reused request id.</summary>
    public string RequestId { get; }

    /// <summary>What the id was first used for, e.g. <c>create Item/a</c>.</summary>
    public string FirstRequest { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
