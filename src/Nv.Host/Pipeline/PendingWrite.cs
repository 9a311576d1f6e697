using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>A validated request travelling through the pipeline stages, with the completion its caller awaits.</summary>
/// <remarks>Owned by one stage at a time (commit → apply → audit); <see cref="Completion"/> may be completed early
/// (Pending on a transient database failure) and is then left alone by later stages.</remarks>
internal sealed class PendingWrite
{
    public PendingWrite(WriteRequest request)
    {
        Request = request;
    }

    public WriteRequest Request { get; }

    /// <summary>The record as stored in the WAL (set by the commit stage).</summary>
    public WalRecord? Record { get; set; }

    public TaskCompletionSource<WriteOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes the caller's task unless it was already answered.</summary>
    public void Answer(WriteOutcome outcome) => Completion.TrySetResult(outcome);

    public void Fail(Exception exception) => Completion.TrySetException(exception);
}
