using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The first attempt of this request id is still in flight: this retry wrote nothing (HTTP 409); retry it later
/// with the same id to get the first attempt's outcome.</summary>
public sealed class RequestInProgressException : NvException
{
    /// <summary>Creates the exception.</summary>
    public RequestInProgressException(string requestId, TimeSpan waited)
        : base($"Request id '{requestId}' is still being processed (waited {waited.TotalSeconds:0.#} s for it); nothing was written by this retry. " +
            "Retry later with the same request id to get its outcome.")
    {
        RequestId = requestId;
    }

    /// <summary>The request id in flight.</summary>
    public string RequestId { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}
