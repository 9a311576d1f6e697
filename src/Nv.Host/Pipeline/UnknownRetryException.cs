namespace Nv.Host.Pipeline;

/// <summary>A write built as a retry (<see cref="PendingWrite.RetryOnly"/>) whose request id the database does not know
/// after all: it is never appended, and its caller gets the refusal it was built without.</summary>
internal sealed class UnknownRetryException : Exception
{
    public UnknownRetryException(string requestId)
        : base($"Request id '{requestId}' was taken for a retry, but no request with it is known; nothing was written.")
    {
    }
}
