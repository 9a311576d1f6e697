using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>A validated request travelling through the pipeline stages, with the completion its caller awaits.</summary>
/// <remarks>Owned by one stage at a time (commit → apply → audit). <see cref="Completion"/> is completed once, by the
/// stage matching <see cref="Ack"/> (or earlier: Pending on a transient database failure, a failure), and later stages
/// leave it alone. <see cref="Final"/> keeps the outcome once the database decided it, for retries and status reads of
/// writes that were answered <see cref="WriteStatus.Accepted"/>.</remarks>
internal sealed class PendingWrite
{
    private WriteOutcome? _final;
    private TaskCompletionSource<bool>? _placed; // made only for a request that waits on this one (rare)
    private int _placement; // 0: not yet, 1: appended, 2: ended without a record
    private volatile bool _finished;

    public PendingWrite(WriteRequest request, AckLevel ack = AckLevel.Applied)
    {
        Request = request;
        Ack = ack;
        Key = new RequestKey(request.UserId ?? string.Empty, request.RequestId);
        Fingerprint = RequestFingerprint.Of(request);
    }

    public WriteRequest Request { get; private set; }

    /// <summary>For a batch: its items, ready for the WAL (patches merged, ids and replay keys assigned); null for a
    /// single write. <see cref="Request"/> then carries the batch's request id, user, reason, metadata and ack.</summary>
    public IReadOnlyList<WalBatchItem>? Items { get; set; }

    /// <summary>Built as a retry of a request id known when it was built (a batch whose own refusal, a missing entity or a
    /// failed precondition, was left for the first attempt's outcome): answered only from what the id already has, never
    /// appended. If the id turns out to be unknown, the commit stage refuses it with <see cref="UnknownRetryException"/>
    /// and its caller gets the refusal it was built without.</summary>
    public bool RetryOnly { get; init; }

    /// <summary>When the caller is answered.</summary>
    public AckLevel Ack { get; }
    /// <summary>The request id in its caller's scope.</summary>
    public RequestKey Key { get; }

    /// <summary>What the request asked for (<see cref="RequestFingerprint"/>).</summary>
    public string Fingerprint { get; }

    /// <summary>The write's trace activity (<c>nv.write</c>), or null when nobody listens; the stages' spans name it as
    /// their parent or link to it.</summary>
    public System.Diagnostics.Activity? Activity { get; init; }

    /// <summary>The data subject of the write and the data key its payload is sealed with (set by the commit stage when
    /// encryption at rest is on; for an erasure, the subject only).</summary>
    public string? Subject { get; set; }

    /// <inheritdoc cref="Subject"/>
    public Guid? KeyId { get; set; }

    /// <summary>An erasure whose announcement (KeyRing.BeginErase, by the commit stage's key assignment) was withdrawn
    /// because its record was never appended: withdrawn once only (the ring counts announcements per subject, so a second
    /// withdrawal would clear the mark of another erasure of the subject still on its way).</summary>
    public bool ErasureWithdrawn { get; set; }

    /// <summary>The record as stored in the WAL (set by the commit stage).</summary>
    public WalRecord? Record { get; set; }

    public TaskCompletionSource<WriteOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the commit stage is done with the write: true when its record was appended to the WAL,
    /// false when it ended without one (answered from the database, refused, or given up before the queue). A different
    /// request under the same id waits for this, not for the write's answer, which may come much later.</summary>
    /// <remarks>Nearly every write ends without anyone waiting on it, so the task is made on first use. Both sides
    /// publish with a full fence (Interlocked) before they read the other's field: whichever comes second completes it.</remarks>
    public Task<bool> Placed
    {
        get
        {
            var placed = Volatile.Read(ref _placed);
            if (placed is null)
            {
                var made = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                placed = Interlocked.CompareExchange(ref _placed, made, null) ?? made;
            }

            CompleteIfPlaced(placed);
            return placed.Task;
        }
    }

    /// <inheritdoc cref="Placed"/>
    public void MarkPlaced(bool appended)
    {
        if (Interlocked.CompareExchange(ref _placement, appended ? 1 : 2, 0) == 0 && Volatile.Read(ref _placed) is { } placed)
        {
            CompleteIfPlaced(placed);
        }
    }

    private void CompleteIfPlaced(TaskCompletionSource<bool> placed)
    {
        var placement = Volatile.Read(ref _placement);
        if (placement != 0)
        {
            placed.TrySetResult(placement == 1);
        }
    }

    /// <summary>The outcome the database decided (applied or rejected), once known.</summary>
    public WriteOutcome? Final => Volatile.Read(ref _final);

    /// <summary>Completes the caller's task unless it was already answered.</summary>
    public void Answer(WriteOutcome outcome) => Completion.TrySetResult(outcome);

    public void Fail(Exception exception) => Completion.TrySetException(exception);

    /// <summary>The WAL made the record durable: a <see cref="AckLevel.Durable"/> caller hears <see cref="WriteStatus.Accepted"/>.</summary>
    public void OnDurable()
    {
        if (Ack == AckLevel.Durable)
        {
            Answer(new WriteOutcome
            {
                RequestId = Request.RequestId,
                Status = WriteStatus.Accepted,
                Lsn = Record!.Lsn,
                Detail = "The write is durable in the WAL; its outcome is known once it is applied.",
                RecordId = Record.Id,
            });
        }
    }

    /// <summary>Every stage is done with the write (<see cref="Finish"/> was called): audited, or answered from a
    /// stored outcome. Its caller has its answer, whatever its ack level, and the database's request outcome answers a
    /// retry the same way.</summary>
    public bool IsFinished => _finished;

    /// <summary>The database decided: the outcome is final; an <see cref="AckLevel.Applied"/> caller hears it now.</summary>
    public void OnApplied(WriteOutcome outcome)
    {
        Volatile.Write(ref _final, outcome);
        if (Ack != AckLevel.Audited)
        {
            Answer(outcome);
        }
    }

    /// <summary>Every stage is done with the write (audited, or answered from a stored outcome): marks it finished (the
    /// request-id cache may forget it from now on) and drops what only the stages read (the request's and the record's
    /// payloads, batch items), keeping what a retry or a status read asks (key, fingerprint, outcome, the record's LSN and
    /// id, what the request named).</summary>
    /// <remarks>The request-id cache keeps the last <see cref="PipelineOptions.RequestIdCacheSize"/> settled writes. With
    /// their payloads, every write's payload stayed live as long as its id was remembered, copied through both younger GC
    /// generations into the oldest; what stays now is a few hundred bytes per write.</remarks>
    public void Finish()
    {
        _finished = true;
        if (Request.Payload is not null || Request.Metadata is not null)
        {
            Request = Request with { Payload = null, Metadata = null };
        }

        Items = null;
        if (Record is { } record && (record.Payload.ValueKind != System.Text.Json.JsonValueKind.Undefined || record.Items is not null
            || !record.SealedPayload.IsEmpty || record.Metadata is { Count: > 0 }))
        {
            Record = record with { Payload = default, SealedPayload = default, Items = null, Metadata = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty };
        }
    }

    /// <summary>The audit stage is done with it: an <see cref="AckLevel.Audited"/> caller hears the final outcome, marked
    /// <see cref="WriteOutcome.IsAudited"/> when <paramref name="inTrail"/> (the entry was committed, not parked by an audit
    /// failure) and the write has an entry (an applied one).</summary>
    public void OnAudited(bool inTrail)
    {
        if (Final is { } outcome)
        {
            Answer(inTrail && outcome.Status == WriteStatus.Applied ? outcome with { IsAudited = true } : outcome);
        }
    }
}
